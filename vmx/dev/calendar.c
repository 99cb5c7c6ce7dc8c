/*
 * Days <-> civil date with March-based years: a year then starts on
 * March 1, so February, the only irregular month, is its last month, and
 * month lengths from March repeat the 153-day pattern of 5 months
 * (31 30 31 30 31). 400 Gregorian years are 146097 days exactly.
 */
#include "vmx/dev/calendar.h"

#define SECS_PER_DAY        86400
#define DAYS_PER_400Y       146097
/* Days from 0000-03-01 to 1970-01-01. */
#define EPOCH_SHIFT         719468
/* 1970-01-01 was a Thursday: RTC day 5. */
#define EPOCH_WDAY          4

void cal_from_epoch(u64 secs, struct cal_time *t)
{
    u64 days = secs / SECS_PER_DAY, rem = secs % SECS_PER_DAY;
    u64 z = days + EPOCH_SHIFT;
    u64 era = z / DAYS_PER_400Y;
    u64 doe = z - era * DAYS_PER_400Y;                  /* day of era */
    u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  /* from March 1 */
    u64 mp = (5 * doy + 2) / 153;                       /* 0 = March */

    t->day = (u32)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (u32)(mp < 10 ? mp + 3 : mp - 9);
    t->year = (u32)(yoe + era * 400 + (t->month <= 2));
    t->hour = (u32)(rem / 3600);
    t->min = (u32)(rem / 60 % 60);
    t->sec = (u32)(rem % 60);
    t->wday = (u32)((days + EPOCH_WDAY) % 7 + 1);
}

u64 cal_to_epoch(const struct cal_time *t)
{
    u32 m = t->month < 1 ? 1 : t->month > 12 ? 12 : t->month;
    s64 y = (s64)t->year - (m <= 2);
    s64 era = y / 400;                  /* y >= -1: truncation is fine */
    s64 yoe = y - era * 400;
    s64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + (s64)t->day - 1;
    s64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    s64 days = era * DAYS_PER_400Y + doe - EPOCH_SHIFT;
    s64 secs = days * SECS_PER_DAY + (s64)t->hour * 3600 + (s64)t->min * 60 + t->sec;

    return secs < 0 ? 0 : (u64)secs;
}

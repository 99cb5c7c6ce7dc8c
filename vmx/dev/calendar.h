/*
 * The proleptic Gregorian calendar for the RTC model: seconds since
 * 1970-01-01 00:00:00 UTC to a date and time and back. Pure integer
 * arithmetic on days, valid for every date from 1970 to far beyond 9999.
 */
#ifndef TURTLE_DEV_CALENDAR_H
#define TURTLE_DEV_CALENDAR_H

#include "kernel/types.h"

struct cal_time {
    u32 year;       /* e.g. 2026 */
    u32 month;      /* 1-12 */
    u32 day;        /* 1-31 */
    u32 hour;       /* 0-23 */
    u32 min;        /* 0-59 */
    u32 sec;        /* 0-59 */
    u32 wday;       /* 1 = Sunday ... 7 = Saturday, as the RTC counts */
};

void cal_from_epoch(u64 secs, struct cal_time *t);

/* The inverse for any field values (a field out of range carries into the
 * next, as in mktime; a month outside 1-12 is clamped); wday is ignored.
 * Dates before 1970 give 0. */
u64 cal_to_epoch(const struct cal_time *t);

#endif

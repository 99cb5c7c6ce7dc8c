/* turtle-snap: loading files and the conversion commands (snap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/turtle-snap/kvm_dir.h"
#include "tools/turtle-snap/snap.h"

int snap_read_file(const char *path, struct snap_file *f)
{
    FILE *fp = fopen(path, "rb");
    memset(f, 0, sizeof(*f));
    if (!fp) {
        fprintf(stderr, "turtle-snap: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->data = aligned_alloc(TSNAP_ALIGN, ALIGN_UP((u64)(n > 0 ? n : 1), TSNAP_ALIGN));
    if (n < 0 || !f->data || fread(f->data, 1, (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "turtle-snap: %s: cannot read\n", path);
        fclose(fp);
        free(f->data);
        f->data = NULL;
        return -1;
    }
    fclose(fp);
    f->len = (u64)n;
    return 0;
}

int snap_load(const char *path, struct snap_file *f)
{
    if (snap_read_file(path, f))
        return -1;
    const char *err = tsnap_parse(f->data, f->len, &f->view);
    if (err) {
        fprintf(stderr, "turtle-snap: %s: refused: %s\n", path, err);
        snap_free(f);
        return -1;
    }
    return 0;
}

void snap_free(struct snap_file *f)
{
    free(f->data);
    f->data = NULL;
}

int cmd_export_kvm(const char *path, const char *dir)
{
    static struct snap_file f;
    if (snap_load(path, &f))
        return -1;
    int rc = export_kvm(&f.view, dir);
    snap_free(&f);
    return rc;
}

int cmd_import_kvm(const char *dir, const char *path)
{
    u64 len;
    u8 *file = import_kvm(dir, &len);
    if (!file)
        return -1;
    FILE *fp = fopen(path, "wb");
    int rc = fp && fwrite(file, 1, len, fp) == len ? 0 : -1;
    if (fp && fclose(fp))
        rc = -1;
    if (rc)
        fprintf(stderr, "turtle-snap: %s: %s\n", path, strerror(errno));
    free(file);
    return rc;
}

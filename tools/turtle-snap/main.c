/* turtle-snap: command dispatch (snap.h). */
#include <string.h>

#include "tools/turtle-snap/snap.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: turtle-snap info FILE\n"
            "       turtle-snap check FILE\n"
            "       turtle-snap export-kvm FILE DIR\n"
            "       turtle-snap import-kvm DIR FILE\n"
            "       turtle-snap unframe STREAM FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "info"))
        return cmd_info(argv[2], stdout) ? 1 : 0;
    if (argc == 3 && !strcmp(argv[1], "check"))
        return cmd_check(argv[2], stdout);
    if (argc == 4 && !strcmp(argv[1], "export-kvm"))
        return cmd_export_kvm(argv[2], argv[3]) ? 1 : 0;
    if (argc == 4 && !strcmp(argv[1], "unframe"))
        return cmd_unframe(argv[2], argv[3]) ? 1 : 0;
    if (argc == 4 && !strcmp(argv[1], "import-kvm"))
        return cmd_import_kvm(argv[2], argv[3]) ? 1 : 0;
    return usage();
}

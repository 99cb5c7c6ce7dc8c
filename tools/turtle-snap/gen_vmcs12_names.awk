# nested/vmcs12-layout.tsv -> a C table of vmcs12 members (name, offset,
# encoding) for turtle-snap info. Generated at build time; not committed.
BEGIN { print "/* Generated from nested/vmcs12-layout.tsv by gen_vmcs12_names.awk. */"
        print "#include \"tools/turtle-snap/snap.h\""
        print "const struct vmcs12_name vmcs12_names[] = {" }
/^#/ || NF < 3 { next }
{ enc = ($3 == "-") ? "-1" : $3; printf "    { \"%s\", %d, %s },\n", $1, $2, enc; n++ }
END { print "};"; printf "const unsigned vmcs12_names_n = %d;\n", n }

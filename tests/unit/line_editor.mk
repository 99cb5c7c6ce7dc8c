UNIT_TESTS += test_line_editor
test_line_editor_SRCS := tests/unit/test_line_editor.c kernel/line_editor.c

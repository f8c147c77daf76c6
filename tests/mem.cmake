# The huge-page allocator (src/core/mem.c) as built, and again as on a system without madvise (its mem.c
# compiled into the test with SF_MEM_NO_ADVISE, replacing the library's).
sf_test(test_ops_mem test_ops_mem.c)
sf_test(test_ops_mem_plain test_ops_mem.c ${PROJECT_SOURCE_DIR}/src/core/mem.c)
target_compile_definitions(test_ops_mem_plain PRIVATE SF_MEM_NO_ADVISE)

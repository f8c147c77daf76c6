# GPT-2: the byte-level BPE tokenizer against the reference encoder, the llm.c and safetensors readers.
sf_test(test_bpe test_bpe.c)
# GPT-2 in llm.c's layout and as safetensors, written from the oracle's weight formula, against PyTorch
sf_test(test_gpt2 test_gpt2.c expect.c gpt2_weights.c)
set_tests_properties(test_gpt2 PROPERTIES TIMEOUT 900) # (a 124M-shaped model under ASan; 213 s on a busy machine)
target_include_directories(test_gpt2 PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_dependencies(test_gpt2 stepformer)
# the decoder step's matrix-vector product: the same bits as the matmul, on any number of threads
sf_test(test_matvec test_matvec.c)
# gpt2_write: a GPT-2-shaped llm.c file from the formula (small or at 124M) for the window, lesson 11 and renders
add_executable(gpt2_write gpt2_write.c gpt2_weights.c)
target_include_directories(gpt2_write PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gpt2_write PRIVATE sf_model)
# lesson 11 (a real GPT-2): skipped, exit 0, without the weights; checked whole with a GPT-2-shaped file
if(TARGET sf_viz AND TARGET sf_lesson AND EXISTS ${PROJECT_SOURCE_DIR}/assets/models/words.sfm)
  sf_test(test_lesson11 test_lesson11.c gpt2_weights.c runkit.c)
  target_include_directories(test_lesson11 PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_dependencies(test_lesson11 stepformer)
endif()

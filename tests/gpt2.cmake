# GPT-2: the byte-level BPE tokenizer against the reference encoder, the llm.c and safetensors readers.
sf_test(test_bpe test_bpe.c)

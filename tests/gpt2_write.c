/* gpt2_write.c - writes a GPT-2-shaped llm.c checkpoint whose weights come from the test oracle's formula
 * (tests/gpt2_weights.c), so the window, lesson 11 and the renders can be tried on GPT-2's shapes on a
 * machine without GPT-2's weights (nothing is downloaded).
 *
 * usage: gpt2_write small|124m OUT.bin [SEED]
 *   small  the oracle's model: GPT-2's vocabulary, 2 layers, 64 wide, 4 heads, 128 positions (13 MB)
 *   124m   GPT-2 small's shape: 12 layers, 12 heads, 768 wide, 1024 positions (498 MB) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_weights.h"

/* Returns 0 when the file was written, 2 on a usage error, 1 when writing failed. */
int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "small") && strcmp(argv[1], "124m"))) {
        fprintf(stderr, "usage: gpt2_write small|124m OUT.bin [SEED]\n");
        return 2;
    }
    gw_shape s = strcmp(argv[1], "small") ? GW_124M : GW_SMALL;
    uint32_t seed = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1;
    size_t bytes = 0;
    if (!gw_write_llmc(argv[2], &s, seed, 3, NULL, &bytes)) return 1;
    printf("%s: %zu bytes (%d layers x %d heads, d_model %d)\n", argv[2], bytes, s.L, s.NH, s.C);
    return 0;
}

/* cmd_model.c - the `trace`, `info` and `init` subcommands. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/checkpoint.h"
#include "model/run.h"
#include "model/trace.h"

/* Prints a float for JSON: non-finite values (masked scores are -inf) become null. */
static void json_float(FILE *f, float v) {
    if (isfinite(v)) fprintf(f, "%.9g", (double)v);
    else fputs("null", f);
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned ch = *p;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F) fprintf(f, "\\u%04x", ch);
        else if (ch == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) fprintf(f, "\\u%04x", (unsigned)*++p); /* C1 controls */
        else if (ch == 0xE2 && ((p[1] == 0x80 && ((p[2] >= 0x8E && p[2] <= 0x8F) || (p[2] >= 0xA8 && p[2] <= 0xAE))) ||
                                (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9))) {
            fprintf(f, "\\u%04x", (unsigned)(0x2000 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F))); /* bidi, separators */
            p += 2;
        } else fputc((int)ch, f);
    }
    fputc('"', f);
}

static void json_config(FILE *f, const sf_config *c) {
    fprintf(f, "{\"family\":\"%s\",\"vocab_size\":%d,\"d_model\":%d,\"n_heads\":%d,\"d_ff\":%d,"
               "\"n_enc_layers\":%d,\"n_dec_layers\":%d,\"max_len\":%d,\"pos\":\"%s\",\"norm\":\"%s\","
               "\"act\":\"%s\",\"tied\":%d,\"scale_emb\":%d,\"ln_eps\":%g}",
            sf_family_name(c->family), c->vocab_size, c->d_model, c->n_heads, c->d_ff, c->n_enc_layers,
            c->n_dec_layers, c->max_len, sf_pos_name(c->pos), sf_norm_name(c->norm), sf_act_name(c->act), c->tied,
            c->scale_emb, (double)c->ln_eps);
}

static void json_tokens(FILE *f, const sf_model *m, const int *ids, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        char piece[16];
        if (i) fputc(',', f);
        fprintf(f, "{\"id\":%d,\"text\":", ids[i]);
        json_string(f, sf_tokenizer_piece(&m->tok, ids[i], piece));
        fputc('}', f);
    }
    fputc(']', f);
}

static void print_json(const sf_model *m, const sf_seq *s, const sf_trace *tr) {
    FILE *f = stdout;
    fputs("{\"config\":", f);
    json_config(f, &m->cfg);
    fputs(",\"src\":", f);
    json_tokens(f, m, s->enc.ids, s->n_src);
    fputs(",\"tgt\":", f);
    json_tokens(f, m, s->dec.ids, s->n_tgt);
    fputs(",\"tensors\":[\n", f);
    for (int i = 0; i < tr->n; i++) {
        const sf_trace_entry *e = &tr->e[i];
        int dims[SF_TRACE_MAX_RANK];
        int rank = sf_trace_shape(tr, e, dims);
        fprintf(f, "%s{\"name\":\"%s\",\"shape\":[", i ? ",\n" : "", e->name);
        for (int d = 0; d < rank; d++) fprintf(f, "%s%d", d ? "," : "", dims[d]);
        fputs("],\"axes\":[", f);
        for (int d = 0; d < rank; d++) fprintf(f, "%s\"%s\"", d ? "," : "", e->axis[d]);
        fputs("],\"values\":[", f);
        if (rank == 1) {
            for (int a = 0; a < dims[0]; a++) { if (a) fputc(',', f); json_float(f, e->data[a]); }
        } else {
            for (int a = 0; a < dims[0]; a++) {
                const float *row = sf_trace_row(e, a);
                fputs(a ? ",[" : "[", f);
                for (int b = 0; b < dims[1]; b++) { if (b) fputc(',', f); json_float(f, row[b]); }
                fputc(']', f);
            }
        }
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
}

/* Prints, for one query row, the key each head of each layer looks at hardest. */
static void print_argmax_keys(const sf_model *m, const sf_seq *s, const sf_stack_rec *st, int n_layers, int t,
                              int cross) {
    const sf_config *c = &m->cfg;
    int L = s->L;
    for (int l = 0; l < n_layers; l++) {
        const sf_attn_rec *a = cross ? &st->layers[l].cross : &st->layers[l].self;
        int to_encoder = cross || st == &s->enc; /* keys are encoder positions, all visible */
        int nk = to_encoder ? s->n_src : t + 1;
        const int *keys = to_encoder ? s->enc.ids : s->dec.ids;
        printf("    L%d %-5s", l, cross ? "cross" : "self");
        for (int h = 0; h < c->n_heads; h++) {
            const float *p = a->probs + ((size_t)h * L + t) * L;
            int j = 0;
            for (int k = 1; k < nk; k++) if (p[k] > p[j]) j = k;
            char piece[16];
            printf("  H%d->%d '%s' %.2f", h, j, cli_safe(sf_tokenizer_piece(&m->tok, keys[j], piece)), (double)p[j]);
        }
        printf("\n");
    }
}

static void print_summary(const sf_model *m, const sf_seq *s, int n_prompt) {
    const sf_config *c = &m->cfg;
    char piece[16];
    if (s->n_src) {
        printf("encoder: %d tokens, every row sees every key\n", s->n_src);
        for (int t = 0; t < s->n_src; t++) {
            printf("  src[%d] '%s'\n", t, cli_safe(sf_tokenizer_piece(&m->tok, s->enc.ids[t], piece)));
            print_argmax_keys(m, s, &s->enc, c->n_enc_layers, t, 0);
        }
    }
    printf("decoder: %d tokens (%d given, %d generated), each sees only keys at or before it\n", s->n_tgt, n_prompt,
           s->n_tgt - n_prompt);
    for (int t = 0; t < s->n_tgt; t++) {
        printf("  tgt[%d] '%s'%s  next:", t, cli_safe(sf_tokenizer_piece(&m->tok, s->dec.ids[t], piece)),
               t >= n_prompt ? " (generated)" : "");
        int top[5];
        int k = sf_top_k(s->probs + (size_t)t * c->vocab_size, c->vocab_size, 5, top);
        for (int i = 0; i < k; i++)
            printf(" '%s' %.3f", cli_safe(sf_tokenizer_piece(&m->tok, top[i], piece)),
                   (double)s->probs[(size_t)t * c->vocab_size + top[i]]);
        printf("\n");
        print_argmax_keys(m, s, &s->dec, c->n_dec_layers, t, 0);
        if (c->family == SF_FAMILY_ENCDEC) print_argmax_keys(m, s, &s->dec, c->n_dec_layers, t, 1);
    }
    if (s->n_tgt > n_prompt || (s->n_tgt > 0 && s->n_tgt == n_prompt)) {
        printf("output: \"");
        for (int t = n_prompt; t < s->n_tgt; t++) printf("%s", cli_safe(sf_tokenizer_piece(&m->tok, s->dec.ids[t], piece)));
        int last = sf_run_predicted(m, s, s->n_tgt - 1);
        printf("\"%s\n", last == SF_TOK_EOS ? " then <eos>" : "");
    }
    int full = sf_seq_max_positions(c);
    if (s->n_tgt > n_prompt && s->n_tgt == full && full < c->max_len)
        printf("generation stopped at %d positions: recording more would pass the %zu MiB record limit "
               "(max_len is %d; --max-new N generates fewer)\n", full, SF_MAX_RECORD_BYTES >> 20, c->max_len);
}

int cmd_trace(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *target = NULL;
    int json = 0;
    sf_run_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--json") == 0) { json = 1; continue; }
        if (strcmp(a, "--model") && strcmp(a, "--input") && strcmp(a, "--target") && strcmp(a, "--max-new") &&
            strcmp(a, "--temperature") && strcmp(a, "--top-k") && strcmp(a, "--seed")) {
            fprintf(stderr, "stepformer trace: unknown option '%s'\n", a);
            return 2;
        }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--target")) target = v;
        else if (!strcmp(a, "--max-new")) { if (!cli_int(a, v, 0, SF_MAX_LEN, &o.max_new)) return 2; }
        else if (!strcmp(a, "--temperature")) { if (!cli_float(a, v, 0, 100, &o.sampler.temperature)) return 2; }
        else if (!strcmp(a, "--top-k")) { if (!cli_int(a, v, 0, SF_MAX_VOCAB, &o.sampler.top_k)) return 2; }
        else { int seed; if (!cli_int(a, v, 0, 2147483647, &seed)) return 2; o.seed = (uint64_t)seed; }
    }
    if (!model || !input) {
        fprintf(stderr, "stepformer trace: --model FILE and --input TEXT are required\n");
        return 2;
    }
    o.input = input;
    o.target = target;
    sf_model m;
    sf_err e = sf_checkpoint_load(model, &m);
    if (!e.ok) return cli_fail(e);
    sf_seq s;
    if (!(e = sf_seq_build(&s, &m.cfg)).ok) { sf_model_free(&m); return cli_fail(e); }
    int n_prompt = 0;
    e = sf_run(&m, &s, &o, &n_prompt);
    if (e.ok) {
        if (json) {
            sf_trace tr;
            e = sf_trace_build(&tr, &m, &s);
            if (e.ok) print_json(&m, &s, &tr);
            sf_trace_free(&tr);
        } else {
            print_summary(&m, &s, n_prompt);
        }
    }
    sf_seq_free(&s);
    sf_model_free(&m);
    return e.ok ? 0 : cli_fail(e);
}

int cmd_info(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else {
            fprintf(stderr, "stepformer info: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model) { fprintf(stderr, "stepformer info: --model FILE is required\n"); return 2; }
    sf_model m;
    sf_err e = sf_checkpoint_load(model, &m);
    if (!e.ok) return cli_fail(e);
    const sf_config *c = &m.cfg;
    size_t alen;
    char *alpha = sf_tokenizer_alphabet(&m.tok, &alen);
    printf("model:       %s\n", cli_safe(model));
    printf("family:      %s\n", c->family == SF_FAMILY_ENCDEC ? "encdec (encoder-decoder, as in the paper)"
                                                              : "gpt (decoder-only)");
    printf("vocab:       %d (4 specials + alphabet \"", c->vocab_size);
    cli_puts_safe(stdout, alpha ? alpha : "?", 0); /* a file's alphabet may hold any character, ESC included */
    printf("\")\n");
    printf("d_model:     %d\nheads:       %d (head size %d)\nd_ff:        %d\n", c->d_model, c->n_heads,
           c->d_model / c->n_heads, c->d_ff);
    printf("layers:      %d encoder, %d decoder\nmax_len:     %d\n", c->n_enc_layers, c->n_dec_layers, c->max_len);
    printf("positions:   %s\nnorm:        %s-LN\nactivation:  %s\ntied:        %s\nscale_emb:   %s\nln_eps:      %g\n",
           sf_pos_name(c->pos), sf_norm_name(c->norm), sf_act_name(c->act), c->tied ? "yes" : "no",
           c->scale_emb ? "yes (x sqrt(d_model))" : "no", (double)c->ln_eps);
    printf("parameters:  %zu\n\ntensors (%d):\n", m.n_params, m.n_table);
    for (int i = 0; i < m.n_table; i++) {
        const sf_param *p = &m.table[i];
        char shape[32];
        if (p->rank == 1) snprintf(shape, sizeof shape, "(%d)", p->dims[0]);
        else snprintf(shape, sizeof shape, "(%d, %d)", p->dims[0], p->dims[1]);
        printf("  %-28s %-14s %9zu\n", cli_safe(p->name), shape, p->count);
    }
    free(alpha);
    sf_model_free(&m);
    return 0;
}

int cmd_init(int argc, char **argv) {
    const char *out = NULL, *alphabet = "abcdefghijklmnopqrstuvwxyz";
    int family = 0, seed = 0;
    sf_config c;
    int have_family = 0;
    /* the family sets the defaults, so find it first */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--family") == 0) {
            family = sf_family_parse(argv[i + 1]);
            if (!family) {
                fprintf(stderr, "stepformer init: --family '%s': expected encdec or gpt\n", argv[i + 1]);
                return 2;
            }
            have_family = 1;
        }
    if (!have_family) { fprintf(stderr, "stepformer init: --family encdec|gpt is required\n"); return 2; }
    c = sf_config_default((sf_family)family);
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) { force = 1; continue; }
        const char *a = argv[i], *v = cli_value(argc, argv, &i);
        if (!v) return 2;
        int ok = 1;
        if (!strcmp(a, "--family")) continue;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--alphabet")) alphabet = v;
        else if (!strcmp(a, "--d-model")) ok = cli_int(a, v, 2, SF_MAX_DMODEL, &c.d_model);
        else if (!strcmp(a, "--heads")) ok = cli_int(a, v, 1, SF_MAX_HEADS, &c.n_heads);
        else if (!strcmp(a, "--d-ff")) ok = cli_int(a, v, 1, SF_MAX_DFF, &c.d_ff);
        else if (!strcmp(a, "--enc-layers")) ok = cli_int(a, v, 0, SF_MAX_LAYERS, &c.n_enc_layers);
        else if (!strcmp(a, "--dec-layers")) ok = cli_int(a, v, 1, SF_MAX_LAYERS, &c.n_dec_layers);
        else if (!strcmp(a, "--max-len")) ok = cli_int(a, v, 1, SF_MAX_LEN, &c.max_len);
        else if (!strcmp(a, "--tied")) ok = cli_int(a, v, 0, 1, &c.tied);
        else if (!strcmp(a, "--scale-emb")) ok = cli_int(a, v, 0, 1, &c.scale_emb);
        else if (!strcmp(a, "--seed")) ok = cli_int(a, v, 0, 2147483647, &seed);
        else if (!strcmp(a, "--pos")) { if (!(c.pos = sf_pos_parse(v))) { fprintf(stderr, "stepformer init: --pos '%s': expected sinusoidal, learned or none\n", v); return 2; } }
        else if (!strcmp(a, "--norm")) { if (!(c.norm = sf_norm_parse(v))) { fprintf(stderr, "stepformer init: --norm '%s': expected post or pre\n", v); return 2; } }
        else if (!strcmp(a, "--act")) { if (!(c.act = sf_act_parse(v))) { fprintf(stderr, "stepformer init: --act '%s': expected relu or gelu\n", v); return 2; } }
        else { fprintf(stderr, "stepformer init: unknown option '%s'\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!out) { fprintf(stderr, "stepformer init: --out FILE is required\n"); return 2; }
    sf_err e;
    if (!force && !(e = cli_refuse_existing(out)).ok) return cli_fail(e);
    size_t alen = strlen(alphabet);
    if (alen > SF_CKPT_MAX_ALPHABET)
        return cli_fail(sf_fail("--alphabet: %zu bytes; a checkpoint holds at most %d", alen, SF_CKPT_MAX_ALPHABET));
    sf_tokenizer tok;
    if (!(e = sf_tokenizer_build(&tok, alphabet, alen)).ok) return cli_fail(sf_err_wrap(e, "--alphabet"));
    c.vocab_size = sf_tokenizer_vocab(&tok);
    /* the loader's validation and limits, before anything is allocated: never write a file no command loads */
    if (!(e = sf_checkpoint_plan(&c, alen, NULL)).ok) {
        sf_tokenizer_free(&tok);
        return cli_fail(sf_err_wrap(e, "init"));
    }
    sf_model m;
    if (!(e = sf_model_build(&m, &c)).ok) { sf_tokenizer_free(&tok); return cli_fail(e); }
    m.tok = tok;
    sf_model_init_random(&m, (unsigned long long)seed);
    e = sf_checkpoint_save(&m, out);
    if (e.ok) printf("wrote %s: %s, %zu parameters\n", out, sf_family_name(c.family), m.n_params);
    sf_model_free(&m);
    return e.ok ? 0 : cli_fail(e);
}

/* cmd_model.c - the `trace` (with its experiments: ablation, patching, logit lens, head roles), `info` and
 * `init` subcommands. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/checkpoint.h"
#include "model/format.h"
#include "model/heads.h"
#include "model/interv.h"
#include "model/lens.h"
#include "model/run.h"
#include "model/trace.h"

/* Prints a float for JSON: non-finite values (masked scores are -inf) become null. */
static void json_float(FILE *f, float v) {
    if (isfinite(v)) fprintf(f, "%.9g", (double)v);
    else fputs("null", f);
}

/* Writes s to f as a JSON string, quotes, backslashes and what a terminal could act on escaped. */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    size_t len = strlen(s), pos = 0;
    while (pos < len) {
        size_t at = pos;
        uint32_t cp;
        if (!sf_utf8_decode(s, len, &pos, &cp)) { /* not UTF-8: the byte as it is */
            fputc((unsigned char)s[at], f);
            pos = at + 1;
        } else if (cp == '"' || cp == '\\') {
            fprintf(f, "\\%c", (int)cp);
        } else if (sf_escape_needed(cp)) { /* controls, C1 controls, bidi marks and separators (io.h) */
            fprintf(f, "\\u%04x", (unsigned)cp);
        } else {
            fwrite(s + at, 1, pos - at, f);
        }
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
        char piece[SF_PIECE_MAX];
        if (i) fputc(',', f);
        fprintf(f, "{\"id\":%d,\"text\":", ids[i]);
        json_string(f, sf_tokenizer_piece_n(&m->tok, ids[i], piece, sizeof piece));
        fputc('}', f);
    }
    fputc(']', f);
}

/* Prints one tensor of the trace as a JSON object {name, shape, axes, values}. */
static void json_tensor(FILE *f, const sf_trace *tr, const sf_trace_entry *e) {
    int dims[SF_TRACE_MAX_RANK];
    int rank = sf_trace_shape(tr, e, dims);
    fprintf(f, "{\"name\":\"%s\",\"shape\":[", e->name);
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

/* What `trace` was asked to do beyond the plain run, and the extra records that needs. */
typedef struct {
    sf_interv iv;         /* ablated heads and patched sites */
    int intervened;       /* 1 when iv is not empty: s is the intervened run, base the clean one */
    const sf_seq *base;   /* the same run without interventions (NULL when not intervened) */
    int n_prompt_base;
    const char *patch_input; /* run A's input when patching */
    const sf_seq *a;      /* run A */
    const sf_lens *lens;  /* --logit-lens, or NULL */
    const sf_head_scores *heads; /* --heads, or NULL */
    int n_heads;
} trace_extra;

/* Returns how many leading decoder positions two records share token for token. */
static int shared_prefix(const sf_seq *a, const sf_seq *b) {
    int n = a->n_tgt < b->n_tgt ? a->n_tgt : b->n_tgt, t = 0;
    while (t < n && a->dec.ids[t] == b->dec.ids[t]) t++;
    return t;
}

static void json_score(FILE *f, float v) {
    if (isnan(v)) fputs("null", f);
    else json_float(f, v);
}

/* Prints the JSON members that describe the interventions, the baseline and the head scores. */
static void json_extra(FILE *f, const sf_model *m, const sf_seq *s, const trace_extra *x) {
    char name[64], piece[16];
    if (x->intervened) {
        fprintf(f, ",\"interventions\":{\"ablate\":[");
        for (int i = 0; i < x->iv.n_ablate; i++)
            fprintf(f, "%s\"%s\"", i ? "," : "", sf_head_name(x->iv.ablate[i], name, sizeof name));
        fprintf(f, "],\"ablate_mode\":\"%s\",\"patch\":[", sf_ablate_mode_name(x->iv.mode));
        for (int i = 0; i < x->iv.n_patch; i++)
            fprintf(f, "%s\"%s\"", i ? "," : "", sf_site_name(&x->iv.patch[i], name, sizeof name));
        fputs("],\"patch_from\":", f);
        if (x->a) {
            fputs("{\"input\":", f);
            json_string(f, x->patch_input);
            fputs(",\"src\":", f);
            json_tokens(f, m, x->a->enc.ids, x->a->n_src);
            fputs(",\"tgt\":", f);
            json_tokens(f, m, x->a->dec.ids, x->a->n_tgt);
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        fputs("},\n\"baseline\":{\"tgt\":", f);
        json_tokens(f, m, x->base->dec.ids, x->base->n_tgt);
        fputs(",\"probs\":[", f);
        int V = m->cfg.vocab_size;
        for (int t = 0; t < x->base->n_tgt; t++) {
            fputs(t ? ",[" : "[", f);
            for (int v = 0; v < V; v++) { if (v) fputc(',', f); json_float(f, x->base->probs[(size_t)t * V + v]); }
            fputc(']', f);
        }
        fputs("]},\n\"output_change\":[", f);
        int n = shared_prefix(x->base, s);
        for (int t = 0; t < n; t++) {
            sf_change c = sf_output_change(m, x->base, s, t);
            fprintf(f, "%s{\"position\":%d,\"tv\":", t ? "," : "", t);
            json_float(f, (float)c.tv);
            fputs(",\"kl\":", f);
            json_float(f, (float)c.kl);
            fputs(",\"top_before\":", f);
            json_string(f, sf_tokenizer_piece(&m->tok, c.top_base, piece));
            fputs(",\"top_after\":", f);
            json_string(f, sf_tokenizer_piece(&m->tok, c.top_run, piece));
            fputs(",\"p_before\":", f);
            json_float(f, c.p_base);
            fputs(",\"p_after\":", f);
            json_float(f, c.p_run);
            fputc('}', f);
        }
        fputc(']', f);
    }
    if (x->heads) {
        fputs(",\n\"heads\":[", f);
        for (int i = 0; i < x->n_heads; i++) {
            const sf_head_scores *h = &x->heads[i];
            fprintf(f, "%s\n{\"name\":\"%s\"", i ? "," : "", sf_head_name(h->head, name, sizeof name));
            for (int r = 0; r < SF_ROLE_COUNT; r++) {
                fprintf(f, ",\"%s\":", sf_role_name(r));
                json_score(f, h->score[r]);
            }
            int best = sf_role_strongest(h, SF_ROLE_MIN);
            if (best >= 0) fprintf(f, ",\"strongest\":\"%s\"}", sf_role_name(best));
            else fputs(",\"strongest\":null}", f);
        }
        fputc(']', f);
    }
}

static void print_json(const sf_model *m, const sf_seq *s, const sf_trace *tr, const trace_extra *x) {
    FILE *f = stdout;
    fputs("{\"config\":", f);
    json_config(f, &m->cfg);
    fputs(",\"src\":", f);
    json_tokens(f, m, s->enc.ids, s->n_src);
    fputs(",\"tgt\":", f);
    json_tokens(f, m, s->dec.ids, s->n_tgt);
    json_extra(f, m, s, x);
    fputs(",\"tensors\":[\n", f);
    for (int i = 0; i < tr->n; i++) {
        if (i) fputs(",\n", f);
        json_tensor(f, tr, &tr->e[i]);
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
        /* the text the generated tokens decode to (a BPE token may hold part of a character), escaped:
         * a model's vocabulary may hold any bytes, ESC included */
        size_t need = sf_tokenizer_decode(&m->tok, s->dec.ids + n_prompt, s->n_tgt - n_prompt, NULL, 0);
        char *text = malloc(need + 1);
        if (text) sf_tokenizer_decode(&m->tok, s->dec.ids + n_prompt, s->n_tgt - n_prompt, text, need + 1);
        int last = sf_run_predicted(m, s, s->n_tgt - 1);
        printf("output: \"");
        cli_puts_safe(stdout, text ? text : "?", 0);
        printf("\"%s\n", last == sf_tokenizer_eos(&m->tok) ? " then <eos>" : "");
        free(text);
    }
    int full = sf_seq_max_positions(c);
    if (s->n_tgt > n_prompt && s->n_tgt == full && full < c->max_len)
        printf("generation stopped at %d positions: recording more would pass the %zu MiB record limit "
               "(max_len is %d; --max-new N generates fewer)\n", full, SF_MAX_RECORD_BYTES >> 20, c->max_len);
}

/* Returns the decoder output text of positions [from, s->n_tgt) into out(cap). */
static const char *output_text(const sf_model *m, const sf_seq *s, int from, char *out, size_t cap) {
    size_t k = 0;
    char piece[16];
    out[0] = 0;
    for (int t = from; t < s->n_tgt && k + 1 < cap; t++) {
        const char *p = sf_tokenizer_piece(&m->tok, s->dec.ids[t], piece);
        size_t l = strlen(p);
        if (k + l + 1 > cap) break;
        memcpy(out + k, p, l + 1);
        k += l;
    }
    return out;
}

/* Prints what was knocked out or patched, before the summary of the intervened run. */
static void print_interventions(const trace_extra *x) {
    char name[64];
    if (x->iv.n_ablate) {
        printf("ablated (%s):", x->iv.mode == SF_ABLATE_MEAN
                                    ? "mean: each head outputs its mean over the clean run's positions"
                                    : "zero: each head outputs zeros");
        for (int i = 0; i < x->iv.n_ablate; i++)
            printf("%s %s", i ? "," : "", sf_head_name(x->iv.ablate[i], name, sizeof name));
        printf("\n");
    }
    if (x->iv.n_patch) {
        printf("patched from run A (input \"%s\"):", cli_safe(x->patch_input));
        for (int i = 0; i < x->iv.n_patch; i++)
            printf("%s %s", i ? "," : "", sf_site_name(&x->iv.patch[i], name, sizeof name));
        printf("\n");
    }
    printf("(the run below is the intervened one)\n");
}

/* Prints, per decoder position, how the intervention moved the output against the clean run. */
static void print_change(const sf_model *m, const sf_seq *s, const trace_extra *x, int n_prompt) {
    char a[16], b[16], c2[16];
    int n = shared_prefix(x->base, s);
    printf("output change against the same run without interventions:\n");
    for (int t = 0; t < n; t++) {
        sf_change c = sf_output_change(m, x->base, s, t);
        printf("  tgt[%d] '%s'  next '%s' %.3f -> %.3f", t, cli_safe(sf_tokenizer_piece(&m->tok, s->dec.ids[t], a)),
               cli_safe(sf_tokenizer_piece(&m->tok, c.top_base, b)), (double)c.p_base, (double)c.p_run);
        if (c.top_run != c.top_base)
            printf(", now '%s' %.3f", cli_safe(sf_tokenizer_piece(&m->tok, c.top_run, c2)),
                   (double)s->probs[(size_t)t * m->cfg.vocab_size + c.top_run]);
        printf("  (total variation %.3f)\n", c.tv);
    }
    if (n < x->base->n_tgt || n < s->n_tgt)
        printf("  from position %d on the two runs were fed different tokens, so they are not compared\n", n);
    if (x->base->n_tgt == x->n_prompt_base && s->n_tgt == n_prompt) return; /* nothing was generated */
    char before[1024], after[1024];
    printf("output without interventions: \"%s\"\nwith them:                    \"%s\"\n",
           cli_safe(output_text(m, x->base, x->n_prompt_base, before, sizeof before)),
           cli_safe(output_text(m, s, n_prompt, after, sizeof after)));
}

/* Prints the logit lens: per position, the top token and its probability read after each layer. */
static void print_lens(const sf_model *m, const sf_seq *s, const sf_lens *lens) {
    char piece[16], cell[64];
    printf("logit lens: the top next token (and its probability) read from the residual stream after each decoder "
           "layer%s; the last column is the model's output\n",
           m->cfg.norm == SF_NORM_PRE ? " through the final LayerNorm" : "");
    printf("  %-16s", "position");
    for (int l = 0; l < lens->n_layers; l++) {
        snprintf(cell, sizeof cell, "after L%d", l);
        printf(" %-13s", cell);
    }
    printf("\n");
    for (int t = 0; t < lens->n; t++) {
        snprintf(cell, sizeof cell, "tgt[%d] '%s'", t, cli_safe(sf_tokenizer_piece(&m->tok, s->dec.ids[t], piece)));
        printf("  %-16s", cell);
        for (int l = 0; l < lens->n_layers; l++) {
            const float *p = sf_lens_probs(lens, l, t);
            int k = sf_argmax(p, lens->V);
            snprintf(cell, sizeof cell, "'%s' %.3f", cli_safe(sf_tokenizer_piece(&m->tok, k, piece)), (double)p[k]);
            printf(" %-13s", cell);
        }
        printf("\n");
    }
}

/* Prints the head-role scores as a table, with each head's strongest role. */
static void print_heads(const trace_extra *x) {
    char name[64];
    printf("head roles: mean attention weight on each pattern for this input (docs/experiments.md); '-' = not "
           "defined\n  %-18s", "head");
    for (int r = 0; r < SF_ROLE_COUNT; r++) printf(" %9s", sf_role_name(r));
    printf("  strongest (>= %.2f)\n", (double)SF_ROLE_MIN);
    for (int i = 0; i < x->n_heads; i++) {
        const sf_head_scores *h = &x->heads[i];
        printf("  %-18s", sf_head_name(h->head, name, sizeof name));
        for (int r = 0; r < SF_ROLE_COUNT; r++) {
            if (isnan(h->score[r])) printf(" %9s", "-");
            else printf(" %9.3f", (double)h->score[r]);
        }
        int best = sf_role_strongest(h, SF_ROLE_MIN);
        printf("  %s\n", best >= 0 ? sf_role_long_name(best) : "-");
    }
}

int cmd_trace(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *target = NULL, *ablate = NULL, *mode = NULL, *patch = NULL;
    const char *patch_from = NULL;
    int json = 0, want_lens = 0, want_heads = 0;
    sf_run_opts o = {0};
    sf_load_opts lo = {0};
    o.max_new = SF_RUN_UNTIL_EOS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--json") == 0) { json = 1; continue; }
        if (strcmp(a, "--logit-lens") == 0) { want_lens = 1; continue; }
        if (strcmp(a, "--heads") == 0) { want_heads = 1; continue; }
        if (strcmp(a, "--model") && strcmp(a, "--input") && strcmp(a, "--target") && strcmp(a, "--max-new") &&
            strcmp(a, "--temperature") && strcmp(a, "--top-k") && strcmp(a, "--seed") && strcmp(a, "--tokenizer") &&
            strcmp(a, "--ablate") && strcmp(a, "--ablate-mode") && strcmp(a, "--patch") && strcmp(a, "--patch-from")) {
            fprintf(stderr, "stepformer trace: unknown option '%s'\n", a);
            return 2;
        }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--tokenizer")) lo.tokenizer = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--target")) target = v;
        else if (!strcmp(a, "--ablate")) ablate = v;
        else if (!strcmp(a, "--ablate-mode")) mode = v;
        else if (!strcmp(a, "--patch")) patch = v;
        else if (!strcmp(a, "--patch-from")) patch_from = v;
        else if (!strcmp(a, "--max-new")) { if (!cli_int(a, v, -1, SF_MAX_LEN, &o.max_new)) return 2; } /* -1: until <eos> */
        else if (!strcmp(a, "--temperature")) { if (!cli_float(a, v, 0, 100, &o.sampler.temperature)) return 2; }
        else if (!strcmp(a, "--top-k")) { if (!cli_int(a, v, 0, SF_MAX_VOCAB, &o.sampler.top_k)) return 2; }
        else { int seed; if (!cli_int(a, v, 0, 2147483647, &seed)) return 2; o.seed = (uint64_t)seed; }
    }
    if (!model || !input) {
        fprintf(stderr, "stepformer trace: --model FILE and --input TEXT are required\n");
        return 2;
    }
    trace_extra x;
    memset(&x, 0, sizeof x);
    sf_interv_init(&x.iv);
    if (mode && !sf_ablate_mode_parse(mode, &x.iv.mode)) {
        fprintf(stderr, "stepformer trace: --ablate-mode '%s': expected zero or mean\n", mode);
        return 2;
    }
    if (mode && !ablate) { fprintf(stderr, "stepformer trace: --ablate-mode needs --ablate NAME[,NAME...]\n"); return 2; }
    if (!patch != !patch_from) {
        fprintf(stderr, "stepformer trace: --patch SITE[,SITE...] and --patch-from INPUT go together\n");
        return 2;
    }
    o.input = input;
    o.target = target;
    sf_model m;
    sf_err e = sf_model_load(model, &lo, &m);
    if (!e.ok) return cli_fail(e);
    if (ablate && !(e = sf_interv_add_ablate(&x.iv, &m.cfg, ablate)).ok) e = sf_err_wrap(e, "--ablate");
    if (e.ok && patch && !(e = sf_interv_add_patch(&x.iv, &m.cfg, patch)).ok) e = sf_err_wrap(e, "--patch");
    x.intervened = x.iv.n_ablate > 0 || x.iv.n_patch > 0;
    sf_seq s, base, a;
    memset(&base, 0, sizeof base);
    memset(&a, 0, sizeof a);
    if (!e.ok || !(e = sf_seq_build(&s, &m.cfg)).ok) { sf_interv_free(&x.iv); sf_model_free(&m); return cli_fail(e); }
    if (x.intervened) e = sf_seq_build(&base, &m.cfg);
    if (e.ok && patch) e = sf_seq_build(&a, &m.cfg);
    int n_prompt = 0;
    sf_lens lens;
    memset(&lens, 0, sizeof lens);
    sf_head_scores *heads = NULL;
    if (e.ok && patch) { /* run A: the run the patched values come from, with the same options */
        sf_run_opts oa = o;
        oa.input = patch_from;
        e = sf_run(&m, &a, &oa, NULL);
        if (!e.ok) e = sf_err_wrap(e, "--patch-from");
        x.iv.from = &a;
        x.a = &a;
        x.patch_input = patch_from;
    }
    if (e.ok) {
        if (x.intervened) {
            e = sf_run_interv(&m, &base, &s, &o, &x.iv, &x.n_prompt_base, &n_prompt);
            x.base = &base;
        } else {
            e = sf_run(&m, &s, &o, &n_prompt);
        }
    }
    if (e.ok && want_lens && (e = sf_lens_compute(&lens, &m, &s)).ok) x.lens = &lens;
    if (e.ok && want_heads && (e = sf_heads_score(&m, &s, &heads, &x.n_heads)).ok) x.heads = heads;
    if (e.ok) {
        if (json) {
            sf_trace tr;
            e = sf_trace_build(&tr, &m, &s);
            if (e.ok && x.lens) e = sf_lens_trace(&tr, x.lens);
            if (e.ok) print_json(&m, &s, &tr, &x);
            sf_trace_free(&tr);
        } else {
            if (x.intervened) print_interventions(&x);
            print_summary(&m, &s, n_prompt);
            if (x.intervened) print_change(&m, &s, &x, n_prompt);
            if (x.lens) print_lens(&m, &s, x.lens);
            if (x.heads) print_heads(&x);
        }
    }
    free(heads);
    sf_lens_free(&lens);
    if (x.intervened) sf_seq_free(&base);
    if (patch) sf_seq_free(&a);
    sf_seq_free(&s);
    sf_interv_free(&x.iv);
    sf_model_free(&m);
    return e.ok ? 0 : cli_fail(e);
}

int cmd_info(int argc, char **argv) {
    const char *model = NULL;
    sf_load_opts lo = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (strcmp(argv[i], "--tokenizer") == 0) {
            if (!(lo.tokenizer = cli_value(argc, argv, &i))) return 2;
        } else {
            fprintf(stderr, "stepformer info: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model) { fprintf(stderr, "stepformer info: --model FILE is required\n"); return 2; }
    sf_model m;
    sf_err e = sf_model_load(model, &lo, &m);
    if (!e.ok) return cli_fail(e);
    const sf_config *c = &m.cfg;
    size_t alen;
    char *alpha = sf_tokenizer_alphabet(&m.tok, &alen);
    printf("model:       %s\n", cli_safe(model));
    printf("format:      %s\n", m.format == SF_FORMAT_LLMC        ? "llm.c (GPT-2 checkpoint, fp32 or bf16)"
                                : m.format == SF_FORMAT_SAFETENSORS ? "safetensors (Hugging Face GPT-2, with config.json)"
                                                                    : "sfm (stepformer checkpoint)");
    printf("family:      %s\n", c->family == SF_FAMILY_ENCDEC ? "encdec (encoder-decoder, as in the paper)"
                                                              : "gpt (decoder-only)");
    if (m.tok.kind == SF_TOKENIZER_BPE) {
        char eot[SF_PIECE_MAX];
        printf("vocab:       %d (GPT-2 byte-level BPE; %s = %d begins and ends a text)\n", c->vocab_size,
               cli_safe(sf_tokenizer_piece_n(&m.tok, sf_tokenizer_eos(&m.tok), eot, sizeof eot)),
               sf_tokenizer_eos(&m.tok));
    } else {
        printf("vocab:       %d (4 specials + alphabet \"", c->vocab_size);
        cli_puts_safe(stdout, alpha ? alpha : "?", 0); /* a file's alphabet may hold any character, ESC included */
        printf("\")\n");
    }
    printf("d_model:     %d\nheads:       %d (head size %d)\nd_ff:        %d%s\n", c->d_model, c->n_heads,
           c->d_model / c->n_heads, c->d_ff, c->d_ff ? "" : " (attention-only: no feed-forward sub-layer)");
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
        else if (!strcmp(a, "--d-ff")) ok = cli_int(a, v, 0, SF_MAX_DFF, &c.d_ff);
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

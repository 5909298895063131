/* harness table (see table.h): cells are built once as UTF-8 text, then written as Markdown or
 * LaTeX; CSV gets raw numbers instead, for further processing. */
#include "harness/table.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"

enum { CELL_MAX = 320, MAIN_COLS = 14, ONLY_COLS = 11, MAX_SOURCES = 128 };
typedef char cells[MAIN_COLS][CELL_MAX];

static const char *const main_head[MAIN_COLS] = {
    "Method", "W bits", "A bits", "Top-1 reproduced", "Top-1 reported", "Δ reproduced", "Δ reported",
    "Size (KB)", "Size by bit-widths (KB)", "Compression ×", "MACs needed/dense", "Speedup × b64 / b1", "Packed ≠", "Seeds"};
static const char *const only_head[ONLY_COLS] = {
    "Model", "Dataset", "Method", "Setting", "W bits", "A bits", "Baseline", "Top-1", "Δ", "Compression ×", "Source"};
static_assert(ONLY_COLS <= MAIN_COLS, "both tables share the cell array");

static const char *const notes[] = {
    "Top-1: final test accuracy (%) of each run; mean ± sample standard deviation over seeds.",
    "W / A bits: the bit-width held by most weights (layers weighted by their weight count); "
    "(fp first/last) = those layers stay 32-bit; (mean m) = weight-weighted mean where other layers differ.",
    "Δ reproduced: mean top-1 minus the mean of the full-precision runs (method none) of the same model and data; "
    "Δ reported: as published (percentage points).",
    "Size: the bytes model.packed.h5 stores for the weights and parameters in their packed formats (its payloads, "
    "footprint.packed_bytes), KB = 1000 bytes; ‡ = some seeds were never exported, so their size is the bit-width "
    "accounting instead. Size by bit-widths: weights × their bits plus the method's overheads (codebooks, indices, "
    "scales), the figure a paper computes. Compression × = fp32 bytes / Size. MACs: multiply-accumulates needed "
    "per image over the dense count.",
    "Method keys are name[:mode] (mode from the run's config.ini [method] mode); a row holds one key at one "
    "W / A setting (a bit-width sweep is a row per setting); published rows match on key, arch and dataset (a bare "
    "name also matches any mode), the row stating the same W / A bits first.",
    "* unconfirmed or partly unconfirmed number; † secondary transcription (see results/reference.csv, notes).",
    "Speedup × b64 / b1: images/s of the run's model.packed.h5 through the packed kernels over its model.h5 in "
    "fp32, ratio of the medians over the repetitions, at batch 64 (throughput) / batch 1 (latency, one image on one "
    "thread since 2026-12-02); mean over the "
    "seeds whose folder holds a speedup.json (harness eval RUN_DIR/model.packed.h5 --data NAME --record), "
    "— where none was measured. A measurement of one machine, not part of the run's deterministic numbers.",
    "Packed ≠: test predictions of model.packed.h5, run through the packed kernels, that differ from model.h5's, "
    "of all the test images, summed over the seeds whose result.json records it (harness run checks every run it "
    "exports); — for runs recorded before that check.",
};

/* --- cell text ---------------------------------------------------------------------------- */
static void num_or_dash(char *out, double v, const char *fmt)
{
    if (isnan(v)) snprintf(out, CELL_MAX, "—");
    else snprintf(out, CELL_MAX, fmt, v);
}

static void signed_or_dash(char *out, double v, const char *mark)
{
    if (isnan(v)) snprintf(out, CELL_MAX, "—");
    else if (v == 0) snprintf(out, CELL_MAX, "0%s", mark);
    else snprintf(out, CELL_MAX, "%+g%s", v, mark);
}

static int source_index(const char **sources, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(sources[i], s) == 0) return i + 1;
    if (*n == MAX_SOURCES) return 0;
    sources[(*n)++] = s;
    return *n;
}

/* "3.10 / 4.21", "3.10 / 4.21 (2 of 3 seeds)" when some seeds have no speedup.json, or "—". */
static void speed_cell(const rr_group *g, char *out)
{
    const rr_stat *b64 = &g->speedup[HX_SPEED_THROUGHPUT], *b1 = &g->speedup[HX_SPEED_LATENCY];
    if (!b64->n) { snprintf(out, CELL_MAX, "—"); return; }
    int n = snprintf(out, CELL_MAX, "%.2f / %.2f", b64->mean, b1->mean);
    if (b64->n < g->n_runs) snprintf(out + n, CELL_MAX - (size_t)n, " (%d of %d seeds)", b64->n, g->n_runs);
}

/* "0 of 30000", "2 of 20000 (2 of 3 seeds)", or "—". */
static void agree_cell(const rr_group *g, char *out)
{
    if (!g->n_agreed) { snprintf(out, CELL_MAX, "—"); return; }
    int n = snprintf(out, CELL_MAX, "%.0f of %.0f", g->agree_differ, g->agree_images);
    if (g->n_agreed < g->n_runs) snprintf(out + n, CELL_MAX - (size_t)n, " (%d of %d seeds)", g->n_agreed, g->n_runs);
}

/* "3", or "3 (epochs 5–15; 2 configs; 2 code versions)" for a row that mixes what seeds should share. */
static void seeds_cell(const rr_group *g, char *out)
{
    char why[CELL_MAX] = "";
    size_t n = 0;
    if (g->epochs_min != g->epochs_max)
        n += (size_t)snprintf(why + n, sizeof why - n, "epochs %d–%d", g->epochs_min, g->epochs_max);
    if (g->n_recipes > 1 && n < sizeof why)
        n += (size_t)snprintf(why + n, sizeof why - n, "%s%d configs", n ? "; " : "", g->n_recipes);
    if (g->n_code_versions > 1 && n < sizeof why)
        n += (size_t)snprintf(why + n, sizeof why - n, "%s%d code versions", n ? "; " : "", g->n_code_versions);
    if (g->n_baselines > 1 && n < sizeof why)
        snprintf(why + n, sizeof why - n, "%s%d baselines", n ? "; " : "", g->n_baselines);
    if (why[0]) snprintf(out, CELL_MAX, "%d (%s)", g->n_runs, why);
    else snprintf(out, CELL_MAX, "%d", g->n_runs);
}

static void group_cells(const rr_set *s, const rr_group *g, const rf_row *ref, int src, cells c)
{
    if (g->is_baseline) snprintf(c[0], CELL_MAX, "Full precision");
    else if (strchr(g->key, ':')) snprintf(c[0], CELL_MAX, "%s (%s)", g->title, strchr(g->key, ':') + 1);
    else snprintf(c[0], CELL_MAX, "%s", g->title);
    rr_bits_text(&g->w, c[1], CELL_MAX);
    rr_bits_text(&g->a, c[2], CELL_MAX);
    if (g->acc.n > 1) snprintf(c[3], CELL_MAX, "%.2f ± %.2f", g->acc.mean, g->acc.std);
    else snprintf(c[3], CELL_MAX, "%.2f", g->acc.mean);
    snprintf(c[4], CELL_MAX, "—");
    if (ref && !isnan(ref->top1)) snprintf(c[4], CELL_MAX, "%g%s [%d]", ref->top1, rf_mark(ref->confirmed), src);
    else if (ref) snprintf(c[4], CELL_MAX, "— [%d]", src);
    double delta = g->baseline >= 0 && !g->is_baseline ? g->acc.mean - s->groups[g->baseline].acc.mean : NAN;
    signed_or_dash(c[5], delta, "");
    if (!isnan(delta)) snprintf(c[5], CELL_MAX, "%+.2f", delta);
    signed_or_dash(c[6], ref ? ref->delta : NAN, ref ? rf_mark(ref->confirmed) : "");
    snprintf(c[7], CELL_MAX, "%.1f%s", g->bytes.mean / 1000, g->n_packed < g->n_runs ? " ‡" : "");
    snprintf(c[8], CELL_MAX, "%.1f", g->bytes_bits.mean / 1000);
    snprintf(c[9], CELL_MAX, "%.1f", g->compression.mean);
    snprintf(c[10], CELL_MAX, "%.2f", g->macs_ratio.mean);
    speed_cell(g, c[11]);
    agree_cell(g, c[12]);
    seeds_cell(g, c[13]);
}

static void ref_cells(const rf_row *r, cells c)
{
    const char *mark = rf_mark(r->confirmed);
    snprintf(c[0], CELL_MAX, "%s", r->arch);
    snprintf(c[1], CELL_MAX, "%s", r->dataset);
    snprintf(c[2], CELL_MAX, "%s", r->method);
    snprintf(c[3], CELL_MAX, "%s", r->setting);
    snprintf(c[4], CELL_MAX, "%s", r->w_bits[0] ? r->w_bits : "—");
    snprintf(c[5], CELL_MAX, "%s", r->a_bits[0] ? r->a_bits : "—");
    num_or_dash(c[6], r->baseline, "%g");
    num_or_dash(c[7], r->top1, "%g");
    if (!isnan(r->top1)) strncat(c[7], mark, CELL_MAX - strlen(c[7]) - 1);
    signed_or_dash(c[8], r->delta, mark);
    if (isnan(r->compression)) snprintf(c[9], CELL_MAX, "—");
    else snprintf(c[9], CELL_MAX, "%g (%s)", r->compression, r->compression_of[0] ? r->compression_of : "?");
    snprintf(c[10], CELL_MAX, "%s", r->source);
}

/* --- Markdown and LaTeX writers ------------------------------------------------------------- */
static void md_text(rr_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '*') rr_printf(b, "\\%c", *s);
        else rr_printf(b, "%c", *s);
    }
}

static void md_row(rr_buf *b, const char *const *c, int n)
{
    for (int i = 0; i < n; i++) {
        rr_puts(b, "| ");
        md_text(b, c[i]);
        rr_puts(b, " ");
    }
    rr_puts(b, "|\n");
}

static void md_head(rr_buf *b, const char *const *head, int n)
{
    md_row(b, head, n);
    for (int i = 0; i < n; i++) rr_puts(b, "|---");
    rr_puts(b, "|\n");
}

typedef struct { const char *utf8, *tex; } tex_sub;
static const tex_sub tex_subs[] = {
    {"±", "$\\pm$"}, {"—", "--"}, {"–", "--"}, {"Δ", "$\\Delta$"}, {"×", "$\\times$"}, {"†", "\\textsuperscript{\\dag}"},
    {"‡", "\\textsuperscript{\\ddag}"},
    {"≈", "$\\approx$"}, {"&", "\\&"}, {"%", "\\%"}, {"$", "\\$"}, {"#", "\\#"}, {"_", "\\_"}, {"{", "\\{"},
    {"}", "\\}"}, {"~", "\\textasciitilde{}"}, {"^", "\\textasciicircum{}"}, {"\\", "\\textbackslash{}"},
};

static void tex_text(rr_buf *b, const char *s)
{
    while (*s) {
        size_t k = 0, n = sizeof tex_subs / sizeof tex_subs[0];
        while (k < n && strncmp(s, tex_subs[k].utf8, strlen(tex_subs[k].utf8)) != 0) k++;
        if (k < n) { rr_puts(b, tex_subs[k].tex); s += strlen(tex_subs[k].utf8); }
        else rr_printf(b, "%c", *s++);
    }
}

static void tex_row(rr_buf *b, const char *const *c, int n)
{
    for (int i = 0; i < n; i++) {
        if (i) rr_puts(b, " & ");
        tex_text(b, c[i]);
    }
    rr_puts(b, " \\\\\n");
}

static void tex_begin(rr_buf *b, const char *const *head, int n)
{
    rr_puts(b, "\\begin{tabular}{l");
    for (int i = 1; i < n; i++) rr_puts(b, "l");
    rr_puts(b, "}\n\\toprule\n");
    tex_row(b, head, n);
    rr_puts(b, "\\midrule\n");
}

static const char *const *cell_ptrs(cells c, const char **p)
{
    for (int i = 0; i < MAIN_COLS; i++) p[i] = c[i];
    return p;
}

/* --- CSV ---------------------------------------------------------------------------------- */
static void csv_field(rr_buf *b, const char *s, int last)
{
    if (strpbrk(s, ",\"\n")) {
        rr_puts(b, "\"");
        for (; *s; s++) rr_printf(b, *s == '"' ? "\"\"" : "%c", *s);
        rr_puts(b, "\"");
    } else rr_puts(b, s);
    rr_puts(b, last ? "\n" : ",");
}

static void csv_num(rr_buf *b, double v)
{
    if (!isnan(v)) rr_printf(b, "%.6g", v);
    rr_puts(b, ",");
}

static void csv_ref(rr_buf *b, const rf_row *r)
{
    double none = NAN;
    csv_num(b, r ? r->top1 : none);
    csv_num(b, r ? r->baseline : none);
    csv_num(b, r ? r->delta : none);
    csv_num(b, r ? r->compression : none);
    csv_field(b, r ? r->compression_of : "", 0);
    static const char *const names[] = {[RF_YES] = "yes", [RF_NO] = "no", [RF_PARTIAL] = "partial",
                                        [RF_SECONDARY] = "secondary"};
    static_assert(sizeof names / sizeof names[0] == RF_CONFIRMED_COUNT, "one name per value");
    csv_field(b, r ? names[r->confirmed] : "", 0);
    csv_field(b, r ? r->source : "", 1);
}

static void render_csv(const rr_set *s, const rf_table *ref, const int *match, const char *used, rr_buf *b)
{
    rr_puts(b, "part,arch,dataset,method,title,setting,w_bits,a_bits,w_bits_mean,a_bits_mean,top1_mean,top1_std,"
               "seeds,delta,size_kb,size_packed_seeds,size_bits_kb,compression,macs_ratio,speedup_b64,speedup_b64_std,speedup_b1,speedup_b1_std,"
               "speedup_seeds,packed_differ,packed_images,reported_top1,reported_baseline,reported_delta,"
               "reported_compression,reported_compression_of,reported_confirmed,reported_source\n");
    char t[CELL_MAX];
    for (int i = 0; i < s->n_groups; i++) {
        const rr_group *g = &s->groups[i];
        csv_field(b, "run", 0);
        csv_field(b, g->arch, 0);
        csv_field(b, g->dataset, 0);
        csv_field(b, g->key, 0);
        csv_field(b, g->is_baseline ? "Full precision" : g->title, 0);
        csv_field(b, "", 0);
        rr_bits_text(&g->w, t, sizeof t);
        csv_field(b, t, 0);
        rr_bits_text(&g->a, t, sizeof t);
        csv_field(b, t, 0);
        csv_num(b, g->w.mean);
        csv_num(b, g->a.mean);
        csv_num(b, g->acc.mean);
        csv_num(b, g->acc.std);
        rr_printf(b, "%d,", g->n_runs);
        csv_num(b, g->baseline >= 0 && !g->is_baseline ? g->acc.mean - s->groups[g->baseline].acc.mean : NAN);
        csv_num(b, g->bytes.mean / 1000);
        rr_printf(b, "%d,", g->n_packed);
        csv_num(b, g->bytes_bits.mean / 1000);
        csv_num(b, g->compression.mean);
        csv_num(b, g->macs_ratio.mean);
        for (int p = HX_SPEED_COUNT - 1; p >= 0; p--) {   /* batch 64, then batch 1, as the Markdown cell */
            csv_num(b, g->speedup[p].n ? g->speedup[p].mean : NAN);
            csv_num(b, g->speedup[p].n ? g->speedup[p].std : NAN);
        }
        rr_printf(b, "%d,", g->speedup[HX_SPEED_THROUGHPUT].n);
        csv_num(b, g->n_agreed ? g->agree_differ : NAN);
        csv_num(b, g->n_agreed ? g->agree_images : NAN);
        csv_ref(b, match[i] >= 0 ? &ref->rows[match[i]] : NULL);
    }
    for (int i = 0; i < ref->n; i++) {
        if (used[i]) continue;
        const rf_row *r = &ref->rows[i];
        csv_field(b, "reported_only", 0);
        csv_field(b, r->arch, 0);
        csv_field(b, r->dataset, 0);
        csv_field(b, r->method, 0);
        csv_field(b, "", 0);
        csv_field(b, r->setting, 0);
        csv_field(b, r->w_bits, 0);
        csv_field(b, r->a_bits, 0);
        rr_puts(b, ",,,,,,,,,,,,,,,,,,");   /* the run columns, w_bits_mean .. packed_images */
        csv_ref(b, r);
    }
}

/* Runs of one dataset trained on different stores of it (data_sources): the same images in
 * another order give a seed other numbers, so rows across the stores are not on equal terms.
 * Records from before data_sources was kept are left out of the count. */
static int store_seen(const rr_set *s, int upto, const rr_run *r, int same_id)
{
    for (int k = 0; k < upto; k++) {
        const rr_run *q = &s->runs[k];
        if (!strcmp(q->dataset, r->dataset) && q->data_id[0] && (!same_id || !strcmp(q->data_id, r->data_id)))
            return 1;
    }
    return 0;
}

static void store_note(const rr_set *s, rr_buf *b)
{
    for (int i = 0; i < s->n_runs; i++) {
        const rr_run *r = &s->runs[i];
        if (!r->data_id[0] || store_seen(s, i, r, 0)) continue;   /* its dataset is counted already */
        int stores = 0;
        for (int j = i; j < s->n_runs; j++) {
            const rr_run *q = &s->runs[j];
            stores += !strcmp(q->dataset, r->dataset) && q->data_id[0] && !store_seen(s, j, q, 1);
        }
        if (stores > 1)
            rr_printf(b, "- Warning: the runs on %s come from %d different stores of it (data_sources in result.json: "
                         "the crc32 of the raw files each store was prepared from); a seed's numbers follow the "
                         "store's image order, so rows across them are not on equal terms.\n", r->dataset, stores);
    }
}

/* "Speedups measured on: <cpu> (<isa>), 2 threads (3 runs); ...", or that none was. */
static void speed_note(const rr_set *s, rr_buf *b)
{
    const char **where = malloc(sizeof *where * ((size_t)s->n_runs + 1));
    int n = 0;
    for (int i = 0; i < s->n_runs; i++)
        if (s->runs[i].has_speed) where[n++] = s->runs[i].speed_where;
    if (!n) rr_puts(b, "- No run here has a speedup.json: the speedup column is empty.\n");
    else {
        rr_puts(b, "- Speedups measured on: ");
        rr_count_list(where, n, b);
        rr_puts(b, ".\n");
    }
    free(where);
}

/* --- the report ----------------------------------------------------------------------------- */
void hx_table_render(const rr_set *s, const rf_table *ref, hx_table_format fmt, const char *source, rr_buf *b)
{
    assert(fmt < HX_TABLE_FORMAT_COUNT);
    int *match = malloc(sizeof *match * ((size_t)s->n_groups + 1));
    char *used = calloc((size_t)ref->n + 1, 1);
    for (int i = 0; i < s->n_groups; i++) {
        const rr_group *g = &s->groups[i];
        match[i] = g->is_baseline ? -1 : rf_match(ref, g->key, g->arch, g->dataset, g->w.typical, g->a.typical);
        if (match[i] >= 0) used[match[i]] = 1;
    }
    if (fmt == HX_TABLE_CSV) {
        render_csv(s, ref, match, used, b);
        free(match);
        free(used);
        return;
    }
    int md = fmt == HX_TABLE_MD;
    const char *sources[MAX_SOURCES], *p[MAIN_COLS];
    int n_sources = 0;
    cells c;
    char heading[2 * RR_NAME_MAX + 8];
    if (md) rr_printf(b, "# Results: %d run%s in %s\n", s->n_runs, s->n_runs == 1 ? "" : "s", source);
    else {
        rr_puts(b, "% harness table: ");
        tex_text(b, source);
        rr_puts(b, "\n% needs \\usepackage{booktabs}\n");
    }
    if (s->n_groups && !md) tex_begin(b, main_head, MAIN_COLS);
    for (int i = 0; i < s->n_groups; i++) {
        const rr_group *g = &s->groups[i];
        if (i == 0 || strcmp(g->arch, s->groups[i - 1].arch) != 0 || strcmp(g->dataset, s->groups[i - 1].dataset) != 0) {
            snprintf(heading, sizeof heading, "%s / %s", g->arch, g->dataset);
            if (md) {
                rr_printf(b, "\n## %s\n\n", heading);
                md_head(b, main_head, MAIN_COLS);
            } else {
                if (i) rr_puts(b, "\\midrule\n");
                rr_printf(b, "\\multicolumn{%d}{l}{\\textbf{", MAIN_COLS);
                tex_text(b, heading);
                rr_puts(b, "}} \\\\\n");
            }
        }
        const rf_row *r = match[i] >= 0 ? &ref->rows[match[i]] : NULL;
        group_cells(s, g, r, r ? source_index(sources, &n_sources, r->source) : 0, c);
        (md ? md_row : tex_row)(b, cell_ptrs(c, p), MAIN_COLS);
    }
    if (s->n_groups && !md) rr_puts(b, "\\bottomrule\n\\end{tabular}\n");
    if (!s->n_groups) rr_puts(b, md ? "\nNo finished runs.\n" : "% no finished runs\n");
    if (n_sources) {
        rr_puts(b, md ? "\nReported numbers from:\n" : "\n\\par\\noindent Reported numbers from: ");
        for (int i = 0; i < n_sources; i++) {
            if (md) rr_printf(b, "[%d] ", i + 1), md_text(b, sources[i]), rr_puts(b, "  \n");
            else rr_printf(b, "%s[%d] ", i ? "; " : "", i + 1), tex_text(b, sources[i]);
        }
        if (!md) rr_puts(b, ".\n");
    }
    int n_only = 0;
    for (int i = 0; i < ref->n; i++) n_only += !used[i];
    if (n_only) {
        if (md) {
            rr_puts(b, "\n## Reported only (settings without a run)\n\n");
            md_head(b, only_head, ONLY_COLS);
        } else {
            rr_puts(b, "\n% reported only (settings without a run)\n");
            tex_begin(b, only_head, ONLY_COLS);
        }
        for (int i = 0; i < ref->n; i++) {
            if (used[i]) continue;
            ref_cells(&ref->rows[i], c);
            (md ? md_row : tex_row)(b, cell_ptrs(c, p), ONLY_COLS);
        }
        if (!md) rr_puts(b, "\\bottomrule\n\\end{tabular}\n");
    }
    if (md) {
        rr_puts(b, "\nNotes:\n");
        for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) rr_printf(b, "- %s\n", notes[i]);
        speed_note(s, b);
        store_note(s, b);
        for (int i = 0; i < s->n_groups; i++) {
            const rr_group *g = &s->groups[i];
            if (g->epochs_min != g->epochs_max)
                rr_printf(b, "- Warning: %s on %s / %s mixes runs of %d to %d epochs; give them distinct "
                             "settings or remove the stale runs.\n",
                          g->key, g->arch, g->dataset, g->epochs_min, g->epochs_max);
            if (g->n_recipes > 1)
                rr_printf(b, "- Warning: %s on %s / %s averages runs of %d different configs (recipe_hash in "
                             "result.json: the config hash without the seed), not only seeds of one.\n",
                          g->key, g->arch, g->dataset, g->n_recipes);
            if (g->n_code_versions > 1)
                rr_printf(b, "- Warning: %s on %s / %s averages runs of %d code versions (code_version in "
                             "result.json; empty in records from before it was kept).\n",
                          g->key, g->arch, g->dataset, g->n_code_versions);
            if (g->n_baselines > 1)
                rr_printf(b, "- Warning: %s on %s / %s averages runs that started from %d different baselines "
                             "(pretrained_hash in result.json: the baseline config's hash; empty in records from "
                             "before it was kept).\n",
                          g->key, g->arch, g->dataset, g->n_baselines);
            if (g->n_speed_wheres > 1)
                rr_printf(b, "- Warning: %s on %s / %s averages speedups measured on %d different CPUs or thread "
                             "counts.\n", g->key, g->arch, g->dataset, g->n_speed_wheres);
        }
        if (s->n_unfinished) rr_printf(b, "- %d unfinished run folder(s) (no result.json) left out.\n", s->n_unfinished);
        if (s->n_skipped) rr_printf(b, "- %d run(s) with a bad result.json skipped (--skip-bad).\n", s->n_skipped);
        if (s->n_speed_skipped)
            rr_printf(b, "- %d bad speedup.json left out, their runs kept (--skip-bad).\n", s->n_speed_skipped);
    }
    free(match);
    free(used);
}

/* --- CLI ---------------------------------------------------------------------------------- */
static const char *const format_names[] = {[HX_TABLE_MD] = "md", [HX_TABLE_CSV] = "csv", [HX_TABLE_TEX] = "tex"};
static_assert(sizeof format_names / sizeof format_names[0] == HX_TABLE_FORMAT_COUNT, "one name per format");

int hx_table_main(int argc, char **argv, FILE *out, char *err, size_t errlen)
{
    char runs_dir[RR_PATH_MAX], ref_path[RR_PATH_MAX];
    rr_results_path("runs", runs_dir, sizeof runs_dir);
    rr_results_path("reference.csv", ref_path, sizeof ref_path);
    const char *out_path = NULL;
    int skip_bad = 0, ref_given = 0;
    hx_table_format fmt = HX_TABLE_MD;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--skip-bad") == 0) { skip_bad = 1; continue; }
        if (!v || (strcmp(a, "--runs") && strcmp(a, "--format") && strcmp(a, "--out") && strcmp(a, "--ref"))) {
            snprintf(err, errlen, "table: unexpected '%s'; usage: harness table [--runs DIR] [--format md|csv|tex] "
                                  "[--out FILE] [--ref FILE] [--skip-bad]", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--runs") == 0) snprintf(runs_dir, sizeof runs_dir, "%s", v);
        else if (strcmp(a, "--ref") == 0) { snprintf(ref_path, sizeof ref_path, "%s", v); ref_given = 1; }
        else if (strcmp(a, "--out") == 0) out_path = v;
        else {
            int f = 0;
            while (f < HX_TABLE_FORMAT_COUNT && strcmp(v, format_names[f]) != 0) f++;
            if (f == HX_TABLE_FORMAT_COUNT) {
                snprintf(err, errlen, "table: --format %s: allowed md, csv, tex", v);
                return -1;
            }
            fmt = (hx_table_format)f;
        }
    }
    rf_table ref = {0};
    if ((ref_given || fio_exists(ref_path)) && rf_load(ref_path, &ref, err, errlen) != 0) return -1;
    if (!ref_given && !ref.n) fprintf(stderr, "harness: note: no %s; reported columns stay empty\n", ref_path);
    rr_set s;
    if (rr_load(runs_dir, skip_bad, stderr, &s, err, errlen) != 0) { rf_free(&ref); return -1; }
    rr_buf b = {0};
    hx_table_render(&s, &ref, fmt, runs_dir, &b);
    int rc = 0;
    if (out_path) {
        rc = fio_write_string(out_path, b.s ? b.s : "", err, errlen);
        if (rc == 0) fprintf(out, "wrote %s (%d groups from %d runs)\n", out_path, s.n_groups, s.n_runs);
    } else if (b.s) fputs(b.s, out);
    rr_buf_free(&b);
    rr_free(&s);
    rf_free(&ref);
    return rc;
}

/* One decode step of a Llama- or Gemma-3-style decoder, for x86-64 CPUs with AVX2 and FMA.
 *
 * Compiled at first use by playground/fast/native.py, which fills the structures below from a loaded
 * transformers model and checks the result against it. Weights are int8 in groups of 32 with one
 * float scale per group (GGUF's Q8_0 layout), or 4-bit in groups of 32 with a scale and an offset
 * (Q4_1's) where the weights already lie on such a grid. Each product quantizes its input vector
 * to int8 in groups of 32 (as llama.cpp does), so that the inner loop is integer multiply-adds;
 * norms, rotary embedding, attention, the KV cache and the logits are float32.
 */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GROUP 32

typedef struct {
    int kind; /* 0: int8, q[rows][cols]; 1: 4-bit, 16 bytes per group, low nibbles first 16, high next 16 */
    int rows, cols;
    const void *q;
    const float *d;    /* [rows][cols / 32] scales */
    const float *m;    /* [rows][cols / 32] offsets (4-bit only): w = d * q + m */
    const float *bias; /* [rows] or NULL */
} Mat;

typedef struct {
    Mat qkv, o, gate_up, down; /* qkv: q rows, then k, then v; gate_up: gate rows, then up */
    const float *norm_attn_in, *norm_attn_out, *norm_ffn_in, *norm_ffn_out; /* NULL: no such norm */
    const float *q_norm, *k_norm;                                           /* per head_dim, or NULL */
    const float *inv_freq;                                                  /* [head_dim / 2] */
    float rope_scale;
    int window; /* attend to the last `window` positions; 0: all */
} Layer;

typedef struct {
    int layers, hidden, heads, kv_heads, head_dim, inter, vocab, act; /* act 0: silu, 1: gelu (tanh) */
    float eps, attn_scale, embed_scale, final_softcap;
    const float *embed; /* [vocab][hidden] float32 */
    const float *final_norm;
    Mat lm_head;
    const Layer *layer;
} Model;

typedef struct {
    int capacity;
    int float_inputs; /* 1: products read their input vector in float32 (slow; for checking the rest) */
    float *k, *v; /* [layers][kv_heads][capacity][head_dim] */
    float *x, *h, *qkv, *att, *gu, *scores; /* scratch */
    int8_t *xq;
    float *xd, *xs;
} State;

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}

/* x -> int8 per group of 32 (scale = max |x| / 127), with each group's scale and exact float sum */
static void quantize_row(const float *x, int n, int8_t *q, float *d, float *s) {
    for (int g = 0; g < n / GROUP; g++) {
        const float *v = x + g * GROUP;
        float amax = 0.f, sum = 0.f;
        for (int i = 0; i < GROUP; i++) {
            float a = fabsf(v[i]);
            amax = a > amax ? a : amax;
            sum += v[i];
        }
        float scale = amax / 127.f, inv = amax > 0.f ? 127.f / amax : 0.f;
        for (int i = 0; i < GROUP; i++) q[g * GROUP + i] = (int8_t)lrintf(v[i] * inv);
        d[g] = scale;
        s[g] = sum;
    }
}

/* y = W x for x given quantized (xq, xd per group, xs = each group's float sum) */
static void gemv(const Mat *W, const int8_t *xq, const float *xd, const float *xs, float *y, int threads) {
    const int groups = W->cols / GROUP;
    const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(0x0f);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int r = 0; r < W->rows; r++) {
        const float *d = W->d + (size_t)r * groups;
        __m256 acc = _mm256_setzero_ps();
        float offset = 0.f;
        if (W->kind == 0) {
            const int8_t *w = (const int8_t *)W->q + (size_t)r * W->cols;
            for (int g = 0; g < groups; g++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)(w + g * GROUP));
                __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + g * GROUP));
                __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
                __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                acc = _mm256_fmadd_ps(dot, _mm256_set1_ps(d[g] * xd[g]), acc);
            }
        } else {
            const uint8_t *w = (const uint8_t *)W->q + (size_t)r * (W->cols / 2);
            const float *m = W->m + (size_t)r * groups;
            for (int g = 0; g < groups; g++) {
                __m128i packed = _mm_loadu_si128((const __m128i *)(w + g * 16));
                __m256i wv = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low);
                __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + g * GROUP));
                __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(wv, xv), ones));
                acc = _mm256_fmadd_ps(dot, _mm256_set1_ps(d[g] * xd[g]), acc);
                offset += m[g] * xs[g];
            }
        }
        y[r] = hsum(acc) + offset + (W->bias ? W->bias[r] : 0.f);
    }
}

/* y = W x with x in float32: the reference for the quantized product */
static void gemv_float(const Mat *W, const float *x, float *y) {
    const int groups = W->cols / GROUP;
    for (int r = 0; r < W->rows; r++) {
        double acc = 0.0;
        for (int g = 0; g < groups; g++) {
            float d = W->d[(size_t)r * groups + g], m = W->kind ? W->m[(size_t)r * groups + g] : 0.f;
            for (int i = 0; i < GROUP; i++) {
                int c = g * GROUP + i, level;
                if (W->kind == 0) level = ((const int8_t *)W->q)[(size_t)r * W->cols + c];
                else {
                    uint8_t byte = ((const uint8_t *)W->q)[(size_t)r * (W->cols / 2) + g * 16 + i % 16];
                    level = i < 16 ? byte & 0x0f : byte >> 4;
                }
                acc += (double)(d * level + m) * x[c];
            }
        }
        y[r] = (float)acc + (W->bias ? W->bias[r] : 0.f);
    }
}

static void matvec(const Mat *W, const float *x, float *y, State *S, int threads) {
    if (S->float_inputs) {
        gemv_float(W, x, y);
        return;
    }
    quantize_row(x, W->cols, S->xq, S->xd, S->xs);
    gemv(W, S->xq, S->xd, S->xs, y, threads);
}

static void rmsnorm(const float *x, float *y, const float *w, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)x[i] * x[i];
    float inv = 1.f / sqrtf((float)(sum / n) + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * inv * w[i];
}

/* rotate_half convention: pairs (i, i + half) */
static void rope(float *v, const Layer *L, int head_dim, int pos) {
    const int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float angle = (float)pos * L->inv_freq[i];
        float c = cosf(angle) * L->rope_scale, s = sinf(angle) * L->rope_scale;
        float a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
    }
}

static float activation(float x, int act) {
    if (act == 0) return x / (1.f + expf(-x));
    return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

/* Run one token at `pos` (the KV cache holds positions before it) and write the vocabulary logits. */
void step(const Model *M, State *S, int token, int pos, float *logits, int threads) {
    const int hd = M->head_dim, H = M->heads, KV = M->kv_heads, cap = S->capacity;
    const int group = H / KV;
    float *x = S->x, *h = S->h;
    const float *row = M->embed + (size_t)token * M->hidden;
    for (int i = 0; i < M->hidden; i++) x[i] = row[i] * M->embed_scale;

    for (int l = 0; l < M->layers; l++) {
        const Layer *L = &M->layer[l];
        rmsnorm(x, h, L->norm_attn_in, M->hidden, M->eps);
        matvec(&L->qkv, h, S->qkv, S, threads);
        float *q = S->qkv, *k = q + H * hd, *v = k + KV * hd;
        for (int j = 0; j < H + KV; j++) {
            float *head = j < H ? q + j * hd : k + (j - H) * hd;
            const float *norm = j < H ? L->q_norm : L->k_norm;
            if (norm) rmsnorm(head, head, norm, hd, M->eps);
            rope(head, L, hd, pos);
        }
        float *kc = S->k + (size_t)l * KV * cap * hd, *vc = S->v + (size_t)l * KV * cap * hd;
        for (int j = 0; j < KV; j++) {
            memcpy(kc + ((size_t)j * cap + pos) * hd, k + j * hd, sizeof(float) * hd);
            memcpy(vc + ((size_t)j * cap + pos) * hd, v + j * hd, sizeof(float) * hd);
        }
        const int first = L->window > 0 && pos - L->window + 1 > 0 ? pos - L->window + 1 : 0;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int head = 0; head < H; head++) {
            const float *qh = q + head * hd;
            const float *keys = kc + (size_t)(head / group) * cap * hd, *values = vc + (size_t)(head / group) * cap * hd;
            float *score = S->scores + (size_t)head * cap, top = -INFINITY, total = 0.f;
            for (int t = first; t <= pos; t++) {
                const float *kt = keys + (size_t)t * hd;
                float dot = 0.f;
                for (int i = 0; i < hd; i++) dot += qh[i] * kt[i];
                score[t] = dot * M->attn_scale;
                top = score[t] > top ? score[t] : top;
            }
            for (int t = first; t <= pos; t++) {
                score[t] = expf(score[t] - top);
                total += score[t];
            }
            float *out = S->att + head * hd;
            for (int i = 0; i < hd; i++) out[i] = 0.f;
            for (int t = first; t <= pos; t++) {
                const float *vt = values + (size_t)t * hd, p = score[t] / total;
                for (int i = 0; i < hd; i++) out[i] += p * vt[i];
            }
        }
        matvec(&L->o, S->att, h, S, threads);
        if (L->norm_attn_out) rmsnorm(h, h, L->norm_attn_out, M->hidden, M->eps);
        for (int i = 0; i < M->hidden; i++) x[i] += h[i];

        rmsnorm(x, h, L->norm_ffn_in, M->hidden, M->eps);
        matvec(&L->gate_up, h, S->gu, S, threads);
        for (int i = 0; i < M->inter; i++) S->gu[i] = activation(S->gu[i], M->act) * S->gu[M->inter + i];
        matvec(&L->down, S->gu, h, S, threads);
        if (L->norm_ffn_out) rmsnorm(h, h, L->norm_ffn_out, M->hidden, M->eps);
        for (int i = 0; i < M->hidden; i++) x[i] += h[i];
    }
    rmsnorm(x, h, M->final_norm, M->hidden, M->eps);
    matvec(&M->lm_head, h, logits, S, threads);
    if (M->final_softcap > 0.f)
        for (int i = 0; i < M->vocab; i++) logits[i] = tanhf(logits[i] / M->final_softcap) * M->final_softcap;
}

/* Products alone, for tests: y = W x with x quantized as in `step`. */
void product(const Mat *W, const float *x, float *y, State *S, int threads) { matvec(W, x, y, S, threads); }

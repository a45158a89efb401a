// SPDX-License-Identifier: Apache-2.0
/*
 * CRC-32 (ISO-HDLC: the CRC of gzip, zip and zlib's crc32(); reflected
 * polynomial 0xEDB88320, init and xorout 0xFFFFFFFF) over a range of a
 * Buffer, for the journal's record checksums (src/journal/crc32.ts).
 *
 * Takes (buffer, start, end[, previous]) and gives the CRC as a uint32, the
 * same value as zlib.crc32(buffer.subarray(start, end), previous): JavaScript
 * passes offsets rather than a subarray so a call allocates nothing.
 *
 * Why here: node's zlib.crc32 runs zlib's table-driven crc32_z (~1.5 GB/s on
 * the machines we measure) plus a JS wrapper that costs ~0.5 µs per call; the
 * journal checksums every record twice (payload, header) on write and on read.
 * On x86-64 CPUs with PCLMULQDQ and SSE4.1 (chosen at load time, by cpuid) the
 * payload is folded 64 bytes at a time with carry-less multiplies, the method
 * of Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
 * Instruction" (Gopal et al., 2009): four 128-bit accumulators folded forward
 * by 512 bits, then into one, then 128 → 64 → 32 bits and a bit-reflected
 * Barrett reduction. Constants are x^k mod P(x) for the reflected polynomial
 * (derivation in the paper, §4; the same numbers as Linux's crc32-pclmul).
 * Short ranges (< 64 bytes), the < 16-byte tail and other CPUs use zlib's
 * crc32_z, which the addon already links.
 */
#include "addon.h"

#include <zlib.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

typedef uint32_t (*crc_fn)(uint32_t crc, const uint8_t *p, size_t len);

static uint32_t crc_zlib(uint32_t crc, const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc, p, len);
}

#if defined(__x86_64__)
/*
 * Folding works on the CRC's internal (non-inverted) state: zlib's crc32_z
 * inverts on entry and exit, so the folded part starts from ~crc and the
 * zlib call for the tail is given the folded result re-inverted.
 */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_fold_pclmul(uint32_t crc, const uint8_t *p, size_t len)
{
	if (len < 64)
		return crc_zlib(crc, p, len);

	/* k1 = x^(4*128+32) mod P, k2 = x^(4*128-32) mod P (bit-reflected, << 1): fold by 512 bits */
	const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
	/* k3, k4: fold by 128 bits */
	const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
	/* k5: 64 → 32 bits; P' and μ for the Barrett reduction */
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i poly_mu = _mm_set_epi64x(0x1f7011641, 0x1db710641);
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x0, x1, x2, x3, t0, t1, t2, t3;

	x0 = _mm_loadu_si128((const __m128i *)(p + 0));
	x1 = _mm_loadu_si128((const __m128i *)(p + 16));
	x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	x3 = _mm_loadu_si128((const __m128i *)(p + 48));
	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
	p += 64;
	len -= 64;

	while (len >= 64) {
		t0 = _mm_clmulepi64_si128(x0, k1k2, 0x00);
		t1 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
		t2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
		t3 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
		x0 = _mm_clmulepi64_si128(x0, k1k2, 0x11);
		x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
		x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
		x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
		x0 = _mm_xor_si128(_mm_xor_si128(x0, t0), _mm_loadu_si128((const __m128i *)(p + 0)));
		x1 = _mm_xor_si128(_mm_xor_si128(x1, t1), _mm_loadu_si128((const __m128i *)(p + 16)));
		x2 = _mm_xor_si128(_mm_xor_si128(x2, t2), _mm_loadu_si128((const __m128i *)(p + 32)));
		x3 = _mm_xor_si128(_mm_xor_si128(x3, t3), _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		len -= 64;
	}

	/* four accumulators into one */
	t0 = _mm_clmulepi64_si128(x0, k3k4, 0x00);
	x0 = _mm_clmulepi64_si128(x0, k3k4, 0x11);
	x0 = _mm_xor_si128(_mm_xor_si128(x0, t0), x1);
	t0 = _mm_clmulepi64_si128(x0, k3k4, 0x00);
	x0 = _mm_clmulepi64_si128(x0, k3k4, 0x11);
	x0 = _mm_xor_si128(_mm_xor_si128(x0, t0), x2);
	t0 = _mm_clmulepi64_si128(x0, k3k4, 0x00);
	x0 = _mm_clmulepi64_si128(x0, k3k4, 0x11);
	x0 = _mm_xor_si128(_mm_xor_si128(x0, t0), x3);

	/* the remaining whole 16-byte blocks */
	while (len >= 16) {
		t0 = _mm_clmulepi64_si128(x0, k3k4, 0x00);
		x0 = _mm_clmulepi64_si128(x0, k3k4, 0x11);
		x0 = _mm_xor_si128(_mm_xor_si128(x0, t0), _mm_loadu_si128((const __m128i *)p));
		p += 16;
		len -= 16;
	}

	/* 128 → 64 bits (appending 32 zero bits): low half × k4, xor the high half */
	t0 = _mm_clmulepi64_si128(k3k4, x0, 0x01);
	x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), t0);
	/* 64 → 32 bits */
	t0 = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00);
	x0 = _mm_xor_si128(_mm_srli_si128(x0, 4), t0);
	/* Barrett reduction: low 32 bits × μ, low 32 of that × P', xor; the CRC is dword 1 */
	t0 = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), poly_mu, 0x10);
	t0 = _mm_clmulepi64_si128(_mm_and_si128(t0, mask32), poly_mu, 0x00);
	x0 = _mm_xor_si128(x0, t0);
	crc = ~(uint32_t)_mm_extract_epi32(x0, 1);

	return len ? crc_zlib(crc, p, len) : crc;
}
#endif

static crc_fn crc_best = crc_zlib;
static const char *crc_best_name = "zlib";

/* Once, when the module loads: the folding path where the CPU has PCLMULQDQ and SSE4.1. */
void crc32_select(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
		crc_best = crc_fold_pclmul;
		crc_best_name = "pclmul";
	}
#endif
}

const char *crc32_impl(void)
{
	return crc_best_name;
}

/* crc32(buffer, start, end, previous): the journal passes ranges inside the buffer; checked again here so no call reads outside it. */
static napi_value crc_call(napi_env env, napi_callback_info info, crc_fn fn)
{
	size_t argc = 4;
	napi_value argv[4], out;
	void *data = NULL;
	size_t len = 0;
	uint32_t start = 0, end = 0, prev = 0;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
	    napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &start) != napi_ok || napi_get_value_uint32(env, argv[2], &end) != napi_ok ||
	    (argc > 3 && napi_get_value_uint32(env, argv[3], &prev) != napi_ok) || start > end || end > len) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", 0, "crc32", NULL,
				   "crc32 needs (Buffer, start, end[, previous]) with start <= end <= length");
		return NULL;
	}
	napi_create_uint32(env, fn(prev, (const uint8_t *)data + start, end - start), &out);
	return out;
}

napi_value crc32_best(napi_env env, napi_callback_info info)
{
	return crc_call(env, info, crc_best);
}

napi_value crc32_portable(napi_env env, napi_callback_info info)
{
	return crc_call(env, info, crc_zlib);
}

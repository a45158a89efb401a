// SPDX-License-Identifier: Apache-2.0
/*
 * Errors of the addon: libbpf's own messages are captured (they name the
 * failing program and carry the verifier's last lines) and thrown to
 * JavaScript as SensorErrors (`new ctor(message, {code, errno, call, object,
 * libbpfMessage})`, the class given by setErrorClass); arguments that are not
 * what a method takes throw ESENSOR_NATIVE_ARG.
 */
#include "addon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- libbpf message capture (for error texts) ---------- */

__thread char last_msg[2048];

int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	if (getenv("EBPF_SENSOR_LIBBPF_LOG")) {
		va_list copy;
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	size_t have = strlen(last_msg);
	if (have + n + 3 >= sizeof(last_msg)) {
		/* Keep the tail: the reason is at the end of a verifier log. */
		const char *tail = line + (n > (int)sizeof(last_msg) / 2 ? n - sizeof(last_msg) / 2 : 0);
		snprintf(last_msg, sizeof(last_msg), "%s", tail);
	} else {
		snprintf(last_msg + have, sizeof(last_msg) - have, "%s%s", have ? " | " : "", line);
	}
	return 0;
}

/* ---------- error helpers ---------- */

static napi_ref error_class_ref = NULL;

void throw_sensor_error(napi_env env, const char *code, int err, const char *call, const char *object,
			const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	napi_value ctor = NULL, argv[2], props, v, instance;
	bool pending = false;

	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s (errno %d)", strerror(err), err);
	}
	if (last_msg[0] && err) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, "; libbpf: %s", last_msg);
	}
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[0]);
	napi_create_object(env, &props);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, props, "code", v);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, props, "errno", v);
	if (call) {
		napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "call", v);
	}
	if (object) {
		napi_create_string_utf8(env, object, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "object", v);
	}
	if (last_msg[0]) {
		napi_create_string_utf8(env, last_msg, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "libbpfMessage", v);
	}
	argv[1] = props;
	if (error_class_ref)
		napi_get_reference_value(env, error_class_ref, &ctor);
	if (ctor && napi_new_instance(env, ctor, 2, argv, &instance) == napi_ok) {
		napi_throw(env, instance);
		return;
	}
	napi_value errv, codev;
	napi_create_error(env, NULL, argv[0], &errv);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codev);
	napi_set_named_property(env, errv, "code", codev);
	napi_throw(env, errv);
}


/* setErrorClass(ctor): errors are thrown as `new ctor(message, props)`. */
napi_value set_error_class(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (error_class_ref)
		napi_delete_reference(env, error_class_ref);
	napi_create_reference(env, argv[0], 1, &error_class_ref);
	return NULL;
}


/* ---------- argument readers ---------- */

bool get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, what, "%s must be a string", what);
		return false;
	}
	if (len >= cap - 1) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", ENAMETOOLONG, NULL, what, "%s too long", what);
		return false;
	}
	return true;
}


bool get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what)
{
	bool is;
	napi_is_buffer(env, v, &is);
	if (!is) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, what, "%s must be a Buffer", what);
		return false;
	}
	napi_get_buffer_info(env, v, data, len);
	return true;
}


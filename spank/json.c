/* json.c: JSON string escaping, the request body, and reading one string member. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "pathrule.h"

int ad_json_string(struct ad_buf *b, const char *s)
{
	if (ad_buf_putc(b, '"') != 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		const char *e = NULL;

		switch (*p) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				e = esc;
			}
		}
		if (e != NULL) {
			if (ad_buf_puts(b, e) != 0)
				return -1;
		} else if (ad_buf_putc(b, (char)*p) != 0) {
			return -1;
		}
	}
	return ad_buf_putc(b, '"');
}

int ad_json_request(struct ad_buf *b, const struct ad_paths *p, const char *token)
{
	if (ad_buf_puts(b, "{\"paths\":[") != 0)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		if ((i && ad_buf_putc(b, ',') != 0) || ad_json_string(b, p->v[i]) != 0)
			return -1;
	}
	if (ad_buf_puts(b, "],\"token\":") != 0 || ad_json_string(b, token) != 0 ||
	    ad_buf_puts(b, ",\"source\":\"submit\"}") != 0)
		return -1;
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Reads a string literal at p (which points at '"'); appends to out when non-NULL. */
static const char *read_string(const char *p, struct ad_buf *out)
{
	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;
				for (int i = 1; i <= 4; i++) {
					char h = p[i];
					if (h >= '0' && h <= '9') v = v * 16 + (unsigned)(h - '0');
					else if (h >= 'a' && h <= 'f') v = v * 16 + (unsigned)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F') v = v * 16 + (unsigned)(h - 'A' + 10);
					else return NULL;
				}
				p += 4;
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			case '\0': return NULL;
			default: c = *p; /* \" \\ \/ */
			}
		}
		if (out != NULL && ad_buf_putc(out, c) != 0)
			return NULL;
	}
	return *p == '"' ? p + 1 : NULL;
}

/* Skips one JSON value (string, number, literal, object or array). */
static const char *skip_value(const char *p)
{
	int depth = 0;

	p = skip_ws(p);
	do {
		if (*p == '\0')
			return NULL;
		if (*p == '"') {
			p = read_string(p, NULL);
			if (p == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (depth == 0 && (*p == ',' ))
			return p;
		p++;
	} while (depth > 0 || (*p != ',' && *p != '}' && *p != '\0'));
	return p;
}

int ad_json_get_string(const char *json, const char *key, struct ad_buf *out)
{
	const char *p = skip_ws(json);
	struct ad_buf k = { 0 };
	int rv = -1;

	if (*p != '{')
		goto fail;
	p++;
	for (;;) {
		p = skip_ws(p);
		if (*p != '"')
			goto fail;
		k.len = 0;
		if (k.data != NULL)
			k.data[0] = '\0';
		p = read_string(p, &k);
		if (p == NULL)
			goto fail;
		p = skip_ws(p);
		if (*p != ':')
			goto fail;
		p = skip_ws(p + 1);
		if (k.data != NULL && strcmp(k.data, key) == 0 && *p == '"') {
			if (read_string(p, out) == NULL)
				goto fail;
			if (out->data == NULL && ad_buf_append(out, "", 0) != 0)
				goto fail;
			rv = 0;
			goto fail;
		}
		p = skip_value(p);
		if (p == NULL)
			goto fail;
		p = skip_ws(p);
		if (*p != ',')
			goto fail;
		p++;
	}
fail:
	ad_buf_free(&k);
	return rv;
}

int ad_rejection_text(int status, const char *resp, struct ad_buf *out)
{
	int rv = -1;
	struct ad_buf msg = { 0 }, path = { 0 };
	const char *obj = resp ? strchr(resp, '{') : NULL;
	char shown[AD_SHOW_BUF], line[64];

	if (obj == NULL || ad_json_get_string(obj, "error", &msg) != 0) {
		snprintf(line, sizeof(line), "warmupd refused the request (HTTP %d)", status);
		rv = ad_buf_puts(out, line);
		goto done;
	}
	if (ad_json_get_string(obj, "path", &path) == 0 && path.len > 0) {
		ad_path_show(path.data, path.len, shown);
		if (strncmp(msg.data, shown, strlen(shown)) != 0 &&
		    (ad_buf_puts(out, shown) != 0 || ad_buf_puts(out, ": ") != 0))
			goto done;
	}
	rv = ad_buf_puts(out, msg.data);
done:
	ad_buf_free(&msg);
	ad_buf_free(&path);
	return rv;
}

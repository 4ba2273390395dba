/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the escrow binding file parser (§B.3), its formatter and loader. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "escrow.h"
#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every accepted binding must satisfy (§B.3), whatever the input was. */
static void check_binding(const P2Binding *b)
{
	size_t n = b->threshold == 0 ? 1 : b->n_keys;

	if (b->threshold == 0
	            ? b->n_keys != 1 || b->data_box != NULL
	            : b->threshold < 2 || b->threshold > b->n_keys || b->n_keys > P2_SHARES_MAX ||
	                      b->data_box == NULL || b->data_box_len < P2_ESCROW_BOX_MIN ||
	                      b->data_box_len > P2_ESCROW_BOX_MAX) {
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		const P2BindingKey *k = &b->keys[i];
		uint8_t kid[P2_KID_LEN];

		p2_escrow_kid(k->s, kid);
		if (memcmp(kid, k->kid, P2_KID_LEN) != 0 || !p2_point_acceptable(k->s) ||
		    !p2_point_acceptable(k->c) || k->box == NULL || k->n_servers > 4 ||
		    (b->threshold != 0 && (k->n_servers == 0 || k->box_len != P2_SHARE_BOX_LEN)) ||
		    (b->threshold == 0 && (k->address != NULL || k->box_len < P2_ESCROW_BOX_MIN ||
		                           k->box_len > P2_ESCROW_BOX_MAX))) {
			abort();
		}
		/* Shares: pairwise distinct kids, pairwise disjoint server lists; no id twice. */
		for (size_t j = 0; j <= i; j++) {
			const P2BindingKey *o = &b->keys[j];

			if (j < i && memcmp(o->kid, k->kid, P2_KID_LEN) == 0) {
				abort();
			}
			for (size_t a = 0; a < k->n_servers; a++) {
				for (size_t c = 0; c < o->n_servers; c++) {
					if ((j < i || a != c) &&
					    memcmp(k->servers[a], o->servers[c], P2_KEY_ID_LEN) ==
					            0) {
						abort();
					}
				}
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool started;
	P2Binding b, again, loaded;
	unsigned line = 0;
	const char *why = NULL;
	char *text;
	int r;

	if (!started) {
		if (sodium_init() < 0) {
			abort();
		}
		started = true;
	}
	r = p2_binding_parse((const char *)data, size, &b, &line, &why);
	if (r < 0) {
		if (r != -EBADMSG && r != -ENOMEM) {
			abort();
		}
		if (r == -EBADMSG && why == NULL) {
			abort();
		}
		return 0;
	}
	check_binding(&b);
	/* format(parse(x)) parses to the same binding. */
	text = p2_binding_format(&b);
	if (text == NULL) {
		abort();
	}
	if (p2_binding_parse(text, strlen(text), &again, &line, &why) != 0 ||
	    !p2_binding_equal(&b, &again)) {
		abort();
	}
	/* The loader reads the same thing from a file. */
	if (p2_binding_load(fuzz_input_file(data, size), &loaded, &line, &why) != 0 ||
	    !p2_binding_equal(&b, &loaded)) {
		abort();
	}
	free(text);
	p2_binding_done(&b);
	p2_binding_done(&again);
	p2_binding_done(&loaded);
	return 0;
}

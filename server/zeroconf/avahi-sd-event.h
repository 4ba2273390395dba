/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An AvahiPoll implementation on an sd-event loop, so avahi-client runs in the server's loop. */
#pragma once

#include <avahi-common/watch.h>
#include <systemd/sd-event.h>

typedef struct AvahiSdEventPoll AvahiSdEventPoll;

/*
 * A poll adapter for `event` (a reference is taken).  Returns NULL on out of memory.
 * Free every Avahi object that uses the adapter (AvahiClient...) before freeing the adapter.
 */
AvahiSdEventPoll *avahi_sd_event_poll_new(sd_event *event);
AvahiSdEventPoll *avahi_sd_event_poll_free(AvahiSdEventPoll *p);

/* The AvahiPoll to give to avahi_client_new(); valid as long as the adapter is. */
const AvahiPoll *avahi_sd_event_poll_get(AvahiSdEventPoll *p);

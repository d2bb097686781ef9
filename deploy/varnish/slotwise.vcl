# SPDX-License-Identifier: Apache-2.0
# Slotwise behind Varnish 7.1 with ESI: the page shell is cached once for everyone, each slot is
# an <esi:include> of the gateway's fragment route, fetched per visitor and never cached.
#
#   varnishd -a :80 -f /etc/varnish/slotwise.vcl -p vcl_path=/etc/varnish \
#            -p feature=+esi_include_onerror
#
# slotwise-backends.vcl (next to this file, see slotwise-backends.example.vcl) defines two
# backends: `cms` (the site, default) and `gateway` (slotwise serve).
# Markup the CMS prints for a slot (see docs/edge.md):
#   <div class="slotwise-slot" data-slotwise-rendered="hero"><esi:include
#     src="/v1/slots/hero/fragment?site=shop&key=pk_shop&fallback=%3Cp%3EHi%3C%2Fp%3E"
#     onerror="continue"/></div>
vcl 4.1;

import blob;
import std;

include "slotwise-backends.vcl";

sub slotwise_visitor {
    # The visitor's consent and id, read once on the top request; ESI children read them
    # through req_top (they get the client's original headers, not these).
    unset req.http.X-Slotwise-Vid;
    unset req.http.X-Slotwise-New-Vid;
    unset req.http.X-Slotwise-Consent;
    if (req.http.Cookie ~ "(^|;\s*)slotwise_consent=(none|anonymous|full)\s*(;|$)") {
        set req.http.X-Slotwise-Consent = regsub(req.http.Cookie,
            "^(.*;\s*)?slotwise_consent=(none|anonymous|full)\s*(;.*)?$", "\2");
    }
    if (req.http.X-Slotwise-Consent == "none") {
        return;
    }
    if (req.http.Cookie ~ "(^|;\s*)slotwise_vid=[A-Za-z0-9_.:-]{1,128}\s*(;|$)") {
        set req.http.X-Slotwise-Vid = regsub(req.http.Cookie,
            "^(.*;\s*)?slotwise_vid=([A-Za-z0-9_.:-]{1,128})\s*(;.*)?$", "\2");
    } else {
        # A new visitor: one id for every fragment of this page (so experiments agree), and the
        # cookie for the next page unless the browser sends Global Privacy Control.
        # std.random is not a cryptographic generator: the id is pseudonymous, not a secret.
        set req.http.X-Slotwise-Vid = "e" + req.xid + "x" + std.integer(real=std.random(0, 999999999))
            + "x" + std.integer(real=std.random(0, 999999999));
        if (req.http.Sec-GPC != "1") {
            set req.http.X-Slotwise-New-Vid = "1";
        }
    }
}

sub vcl_recv {
    if (req.esi_level == 0) {
        call slotwise_visitor;
    }
    if (req.url ~ "^/v1/slots/[^/?]+/fragment") {
        # Fragments: per visitor, never cached. Ids in the page's URL are not trusted.
        set req.backend_hint = gateway;
        set req.url = regsuball(req.url, "&(visitor_id|consent)=[^&]*", "");
        if (req_top.http.X-Slotwise-Vid) {
            set req.url = req.url + "&visitor_id=" + req_top.http.X-Slotwise-Vid;
        }
        if (req_top.http.X-Slotwise-Consent) {
            set req.url = req.url + "&consent=" + req_top.http.X-Slotwise-Consent;
        }
        unset req.http.Cookie;
        return (pass);
    }
    set req.backend_hint = cms;
    if (req.http.Cookie) {
        # Slotwise's cookies only matter to fragments: without them the shell is one object.
        set req.http.Cookie = regsuball(req.http.Cookie, "(^|;\s*)slotwise_(vid|consent)=[^;]*", "");
        set req.http.Cookie = regsub(req.http.Cookie, "^[;\s]+", "");
        if (req.http.Cookie ~ "^\s*$") {
            unset req.http.Cookie;
        }
    }
    # Other cookies (a logged-in editor) and non-GET requests: the built-in VCL passes them.
}

sub vcl_backend_response {
    if (bereq.url ~ "^/v1/slots/[^/?]+/fragment") {
        if (beresp.status != 200) {
            return (error(beresp.status));
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    if (beresp.http.Content-Type ~ "^text/html") {
        set beresp.do_esi = true;
        set beresp.http.X-Slotwise-Shell = "1";
    }
}

sub vcl_backend_error {
    if (bereq.url ~ "^/v1/slots/[^/?]+/fragment") {
        # A failed fragment (gateway down, late, 4xx/5xx) becomes the block's fallback, carried
        # percent-encoded in the include's `fallback` parameter: the page is never cut short.
        set beresp.status = 200;
        set beresp.http.Content-Type = "text/html; charset=utf-8";
        set beresp.http.X-Slotwise-Fallback = "fragment-failed";
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        if (bereq.url ~ "[?&]fallback=[^&]+") {
            synthetic(blob.transcode(decoding=URL, encoding=IDENTITY,
                encoded=regsub(bereq.url, "^.*[?&]fallback=([^&]*).*$", "\1")));
        } else {
            synthetic("");
        }
        return (deliver);
    }
}

sub vcl_deliver {
    if (req.esi_level == 0 && resp.http.X-Slotwise-Shell) {
        # The cached shell went out with this visitor's blocks in it: private from here on.
        set resp.http.Cache-Control = "private, no-cache";
        unset resp.http.ETag;
        unset resp.http.Last-Modified;
        if (obj.hits > 0) {
            set resp.http.X-Slotwise-Cache = "hit";
        } else {
            set resp.http.X-Slotwise-Cache = "miss";
        }
        if (req.http.X-Slotwise-New-Vid) {
            set resp.http.Set-Cookie = "slotwise_vid=" + req.http.X-Slotwise-Vid
                + "; Max-Age=31536000; Path=/; SameSite=Lax";
        }
    }
    unset resp.http.X-Slotwise-Shell;
}

# SPDX-License-Identifier: Apache-2.0
# Copy to slotwise-backends.vcl and point at your site and your gateway.
backend cms {
    .host = "127.0.0.1";
    .port = "8081";
}

backend gateway {
    .host = "127.0.0.1";
    .port = "8080";
    # Fragments have a budget: a late gateway costs the fallback, not the page.
    .connect_timeout = 0.3s;
    .first_byte_timeout = 0.5s;
    .between_bytes_timeout = 0.5s;
}

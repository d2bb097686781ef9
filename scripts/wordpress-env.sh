#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real WordPress for the plugin's tests and benchmark, on Debian's `wordpress` package.
# Idempotent: run it again and it keeps what is there.
#
#   scripts/wordpress-env.sh setup            database + user, /etc/wordpress config, install,
#                                             plugin linked and active, pages and sample posts;
#                                             prints one JSON object with the page ids
#   scripts/wordpress-env.sh set KEY=VALUE..  plugin settings (gateway_url, site_id, mode, ...)
#   scripts/wordpress-env.sh plugin on|off    activate / deactivate the plugin
#   scripts/wordpress-env.sh app-password     a fresh application password for `admin` (REST tests)
#
# Serve it with: php -S 127.0.0.1:PORT -t /usr/share/wordpress tests/wordpress/router.php
# Environment: SLOTWISE_WP_HOST (127.0.0.1), SLOTWISE_WP_DB (slotwise_wp),
# SLOTWISE_WP_LOG (/tmp/slotwise-wp/debug.log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
HOST="${SLOTWISE_WP_HOST:-127.0.0.1}"
DB="${SLOTWISE_WP_DB:-slotwise_wp}"
LOG="${SLOTWISE_WP_LOG:-/tmp/slotwise-wp/debug.log}"
WP=/usr/share/wordpress
CONTENT=/var/lib/wordpress/wp-content
CONFIG="/etc/wordpress/config-${HOST}.php"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

php_wp() {  # run PHP code inside WordPress (as the admin user)
  local code="$1"; shift
  HOST="$HOST" php -d display_errors=stderr -r '
    $_SERVER["HTTP_HOST"] = getenv("HOST"); $_SERVER["REQUEST_URI"] = "/"; $_SERVER["SERVER_PROTOCOL"] = "HTTP/1.1";
    define("WP_ADMIN", true);
    require "/usr/share/wordpress/wp-load.php";
    require_once ABSPATH . "wp-admin/includes/plugin.php";
    wp_set_current_user(1);
    '"$code" -- "$@"
}

setup() {
  [ -d "$WP" ] || { echo "wordpress-env: Debian's wordpress package is not installed (scripts/setup-system.sh)" >&2; exit 1; }
  mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS '$DB'@'localhost' IDENTIFIED BY '$DB';
    GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB'@'localhost'; FLUSH PRIVILEGES;"
  mkdir -p "$(dirname "$LOG")"
  chmod 0777 "$(dirname "$LOG")"
  if [ ! -f "$CONFIG" ] || ! grep -q "slotwise-wordpress-env v2" "$CONFIG"; then
    local salts
    salts="$(python3 -c 'import secrets
for k in ("AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT"):
    print(f"define(\"{k}\", \"{secrets.token_hex(32)}\");")')"
    $SUDO tee "$CONFIG" >/dev/null <<PHP
<?php
// slotwise-wordpress-env v2: written by scripts/wordpress-env.sh for tests and benchmarks.
define('DB_NAME', '$DB');
define('DB_USER', '$DB');
define('DB_PASSWORD', '$DB');
define('DB_HOST', 'localhost');
\$slotwise_host = isset(\$_SERVER['HTTP_HOST']) ? preg_replace('/[^A-Za-z0-9.:\\-]/', '', \$_SERVER['HTTP_HOST']) : '$HOST';
define('WP_HOME', 'http://' . \$slotwise_host);   // any port on loopback serves the same site
define('WP_SITEURL', 'http://' . \$slotwise_host);
define('WP_DEBUG', true);
define('WP_DEBUG_LOG', '$LOG');
define('WP_DEBUG_DISPLAY', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);          // loopback only: no calls to wordpress.org
define('WP_ACCESSIBLE_HOSTS', '');
define('WP_ENVIRONMENT_TYPE', 'local');          // application passwords over plain HTTP (tests)
$salts
PHP
  fi
  # Must-use plugins are how the tests and the bench shim things for one run: the invoking user
  # owns that folder, so they need no root.
  [ -d "$CONTENT/mu-plugins" ] || $SUDO mkdir -p "$CONTENT/mu-plugins"
  [ -O "$CONTENT/mu-plugins" ] || $SUDO chown "$(id -u)" "$CONTENT/mu-plugins"
  # Always this checkout's plugin: the site is shared by every checkout on the machine, and a
  # link left by another one would test (and bench) its code instead.
  if [ "$(readlink "$CONTENT/plugins/slotwise" 2>/dev/null)" != "$ROOT/wordpress-plugin/slotwise" ]; then
    $SUDO ln -sfn "$ROOT/wordpress-plugin/slotwise" "$CONTENT/plugins/slotwise"
  fi
  HOST="$HOST" php -d display_errors=stderr -r '
    $_SERVER["HTTP_HOST"] = getenv("HOST"); $_SERVER["REQUEST_URI"] = "/";
    define("WP_INSTALLING", true);
    require "/usr/share/wordpress/wp-load.php";
    require_once ABSPATH . "wp-admin/includes/upgrade.php";
    if (!is_blog_installed()) {
      wp_install("Slotwise test site", "admin", "admin@example.com", true, "", "admin-password-slotwise");
    }' 2>&1 | grep -v -i "sendmail" || true
  php_wp '
    $r = activate_plugin("slotwise/slotwise.php");
    if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }
    $ids = array();
    $fallback = "<p>Fallback: our newest articles</p>";
    $block = function ($slot, $text) {
      return serialize_block(array("blockName" => "slotwise/slot", "attrs" => array("slot" => $slot, "fallback" => $text),
        "innerBlocks" => array(), "innerHTML" => "", "innerContent" => array()));
    };
    // The same block with its fallback also saved as inner HTML: with the plugin off, WordPress
    // prints that HTML, so a page without the plugin has the same content (bench/wordpress_bench.py).
    $saved = function ($slot, $text) {
      return serialize_block(array("blockName" => "slotwise/slot", "attrs" => array("slot" => $slot, "fallback" => $text),
        "innerBlocks" => array(), "innerHTML" => $text, "innerContent" => array($text)));
    };
    $intro = "<!-- wp:paragraph --><p>Welcome to the test page.</p><!-- /wp:paragraph -->";
    $pages = array(
      "slotwise-block" => array("Slotwise block page", $intro . $block("home-hero", "<p>Fallback hero</p>") . $block("welcome", "<p>Fallback welcome</p>") . $block("recommendations", $fallback)),
      "slotwise-four" => array("Four slots page", $intro . $saved("home-hero", "<p>Fallback hero</p>") . $saved("welcome", "<p>Fallback welcome</p>") . $saved("recommendations", $fallback) . $saved("offer", "<p>Fallback offer</p>")),
      "slotwise-shortcode" => array("Slotwise shortcode page", "<!-- wp:shortcode -->[slotwise slot=\"home-hero\"]<p>Shortcode fallback</p>[/slotwise]<!-- /wp:shortcode -->"),
      "slotwise-classic" => array("Slotwise classic page", "Classic intro.\n\n[slotwise slot=\"home-hero\"]<p>Classic fallback</p>\n\n<p>Second paragraph</p>[/slotwise]\n\nClassic outro."),
      "slotwise-none" => array("Page without slots", "<!-- wp:paragraph --><p>Nothing personalized here.</p><!-- /wp:paragraph -->"),
    );
    foreach ($pages as $slug => $p) {
      $page = get_page_by_path($slug);
      $data = array("post_type" => "page", "post_status" => "publish", "post_name" => $slug, "post_title" => $p[0], "post_content" => $p[1]);
      if ($page) { $data["ID"] = $page->ID; wp_update_post(wp_slash($data)); $ids[$slug] = $page->ID; }
      else { $ids[$slug] = wp_insert_post(wp_slash($data)); }
    }
    $topics = array(
      array("Trail running in the Alps", "Outdoors", array("running", "mountains")),
      array("Choosing a winter tent", "Outdoors", array("camping", "winter")),
      array("Sourdough for beginners", "Kitchen", array("baking", "bread")),
      array("Five quick weeknight soups", "Kitchen", array("cooking", "soup")),
      array("Repairing a bicycle chain", "Workshop", array("bikes", "repair")),
      array("Building a bird house", "Workshop", array("wood", "garden")),
    );
    $posts = array();
    foreach ($topics as $t) {
      $slug = sanitize_title($t[0]);
      $existing = get_page_by_path($slug, OBJECT, "post");
      if ($existing) { $posts[] = $existing->ID; continue; }
      $cat = term_exists($t[1], "category") ?: wp_insert_term($t[1], "category");
      $posts[] = wp_insert_post(array("post_type" => "post", "post_status" => "publish", "post_name" => $slug,
        "post_title" => $t[0], "post_excerpt" => "All about " . strtolower($t[0]) . ".",
        "post_content" => "<!-- wp:paragraph --><p>" . $t[0] . ": a short guide.</p><!-- /wp:paragraph -->",
        "post_category" => array((int) $cat["term_id"]), "tags_input" => $t[2]));
    }
    $ids["posts"] = $posts;
    update_option("permalink_structure", "");
    echo wp_json_encode($ids), "\n";'
}

set_options() {
  php_wp '
    $o = get_option("slotwise_settings", array());
    $o = is_array($o) ? $o : array();
    foreach (array_slice($argv, 1) as $pair) {
      list($k, $v) = array_pad(explode("=", $pair, 2), 2, "");
      if (in_array($v, array("true", "false"), true)) { $v = $v === "true"; }
      elseif (is_numeric($v)) { $v = $v + 0; }
      $o[$k] = $v;
    }
    update_option("slotwise_settings", $o);
    echo wp_json_encode(array_diff_key($o, array("secret_key" => 1))), "\n";' "$@"
}

plugin() {
  case "${1:-}" in
    on) php_wp '$r = activate_plugin("slotwise/slotwise.php"); if (is_wp_error($r)) { exit(1); } echo "active\n";' ;;
    off) php_wp 'deactivate_plugins("slotwise/slotwise.php"); echo "inactive\n";' ;;
    *) echo "usage: $0 plugin on|off" >&2; exit 2 ;;
  esac
}

user_password() {
  # user_password LOGIN ROLE: the user (created when missing) with that role and a fresh
  # application password, printed last.
  php_wp '
    list(, $login, $role) = $argv;
    $user = get_user_by("login", $login);
    $id = $user ? $user->ID : wp_insert_user(array("user_login" => $login, "user_pass" => wp_generate_password(), "user_email" => $login . "@example.com", "role" => $role));
    if (is_wp_error($id)) { fwrite(STDERR, $id->get_error_message() . "\n"); exit(1); }
    (new WP_User($id))->set_role($role);
    foreach (WP_Application_Passwords::get_user_application_passwords($id) as $p) {
      if ($p["name"] === "slotwise-tests") { WP_Application_Passwords::delete_application_password($id, $p["uuid"]); }
    }
    $r = WP_Application_Passwords::create_new_application_password($id, array("name" => "slotwise-tests"));
    if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }
    echo $r[0], "\n";' "$@"
}

app_password() {
  php_wp '
    foreach (WP_Application_Passwords::get_user_application_passwords(1) as $p) {
      if ($p["name"] === "slotwise-tests") { WP_Application_Passwords::delete_application_password(1, $p["uuid"]); }
    }
    $r = WP_Application_Passwords::create_new_application_password(1, array("name" => "slotwise-tests"));
    if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(1); }
    echo $r[0], "\n";'
}

cmd="${1:-setup}"; shift || true
case "$cmd" in
  setup) setup ;;
  set) set_options "$@" ;;
  plugin) plugin "$@" ;;
  app-password) app_password ;;
  user-password) user_password "$@" ;;
  *) echo "usage: $0 setup | set KEY=VALUE... | plugin on|off | app-password | user-password LOGIN ROLE" >&2; exit 2 ;;
esac

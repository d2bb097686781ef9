<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Variants written in the block editor, published to the gateway with the post.
 *
 * A "Personalized slot" block that holds `slotwise/variant` blocks is an authored slot named
 * `wp-<post id>-<block key>`. When the post is saved as published (`wp_after_insert_post`, which
 * runs after the REST API stored the post and its meta), each such slot is sent to the gateway
 * (`PUT /v1/admin/slots/{slot}`, secret key) as html blocks with their conditions; slots that
 * left the post, and every slot of a post that is unpublished, trashed or deleted, are retired
 * (`DELETE`). The gateway's errors (variant, column) are kept in the post meta
 * `_slotwise_errors`, which the block editor reads (REST) and the edit screen shows as a notice.
 * The default variant is printed in the page as the fallback, so nothing is lost while the
 * gateway is down or the post was not yet accepted.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * Publish and retire authored slots.
 */
final class Slotwise_Authoring {

	const KEY_PATTERN = '/^[a-z0-9]{1,12}$/';
	const META_SLOTS  = '_slotwise_slots';
	const META_ERRORS = '_slotwise_errors';

	/**
	 * `load-post.php`: the edit screen shows the errors of the last publish as a notice.
	 */
	public static function watch_notices(): void {
		add_action( 'admin_notices', array( self::class, 'notice' ) );
	}

	/**
	 * The two meta keys, readable through the REST API by people who can edit the post
	 * (registered for REST requests only: nothing else reads them through the registry).
	 */
	public static function register_meta(): void {
		$error = array(
			'type'       => 'object',
			'properties' => array(
				'slot'    => array( 'type' => 'string' ),
				'variant' => array( 'type' => array( 'string', 'null' ) ),
				'field'   => array( 'type' => array( 'string', 'null' ) ),
				'column'  => array( 'type' => array( 'integer', 'null' ) ),
				'message' => array( 'type' => 'string' ),
			),
		);
		$lists = array(
			self::META_ERRORS => $error,
			self::META_SLOTS  => array( 'type' => 'string' ),
		);
		foreach ( $lists as $key => $items ) {
			register_post_meta(
				'',
				$key,
				array(
					'single'        => true,
					'type'          => 'array',
					'default'       => array(),
					'show_in_rest'  => array( 'schema' => array( 'type' => 'array', 'items' => $items ) ),
					// Written by this class only; the editor reads them.
					'auth_callback' => '__return_false',
				)
			);
		}
	}

	/**
	 * `wp_after_insert_post`: publish the post's authored slots, or retire them.
	 *
	 * @param int     $post_id Post id.
	 * @param WP_Post $post    Post.
	 */
	public static function on_save( $post_id, $post ): void {
		if ( ! $post instanceof WP_Post || wp_is_post_revision( $post ) || wp_is_post_autosave( $post ) ) {
			return;
		}
		$before = self::published( (int) $post_id );
		if ( 'publish' !== $post->post_status ) {
			if ( $before ) {
				self::retire( (int) $post_id, $before );
			}
			return;
		}
		$slots = self::slots_of( $post );
		if ( ! $slots && ! $before ) {
			return;
		}
		$gateway = new Slotwise_Admin_Client();
		$errors  = array();
		$live    = array();
		foreach ( $slots as $name => $slot ) {
			if ( isset( $slot['error'] ) ) {
				$errors[] = array( 'slot' => $name, 'variant' => null, 'field' => null, 'column' => null, 'message' => $slot['error'] );
				continue;
			}
			$answer = $gateway->send( 'PUT', '/v1/admin/slots/' . rawurlencode( $name ), $slot['body'] );
			if ( $answer['ok'] ) {
				$live[] = $name;
				continue;
			}
			if ( in_array( $name, $before, true ) ) {
				$live[] = $name; // The gateway kept the last accepted version.
			}
			foreach ( $answer['details'] ?: array( array( 'message' => $answer['error'] ) ) as $d ) {
				$errors[] = array(
					'slot'    => $name,
					'variant' => isset( $d['variant'] ) && is_string( $d['variant'] ) ? $d['variant'] : null,
					'field'   => isset( $d['field'] ) && is_string( $d['field'] ) ? $d['field'] : null,
					'column'  => isset( $d['column'] ) && is_int( $d['column'] ) ? $d['column'] : null,
					'message' => sanitize_text_field( (string) ( $d['message'] ?? '' ) ),
				);
			}
		}
		$gone = array_diff( $before, array_keys( $slots ) );
		foreach ( $gone as $name ) {
			$answer = $gateway->send( 'DELETE', '/v1/admin/slots/' . rawurlencode( $name ), null );
			if ( ! $answer['ok'] && 404 !== $answer['status'] ) {
				$live[]   = $name; // Retried at the next save.
				$errors[] = array( 'slot' => $name, 'variant' => null, 'field' => null, 'column' => null, 'message' => $answer['error'] );
			}
		}
		update_post_meta( (int) $post_id, self::META_SLOTS, array_values( array_unique( $live ) ) );
		update_post_meta( (int) $post_id, self::META_ERRORS, $errors );
	}

	/**
	 * `before_delete_post`: retire what the post published.
	 *
	 * @param int $post_id Post id.
	 */
	public static function on_delete( $post_id ): void {
		$before = self::published( (int) $post_id );
		if ( $before ) {
			self::retire( (int) $post_id, $before );
		}
	}

	/**
	 * Retire slots; those the gateway could not retire stay listed (and are retried).
	 *
	 * @param int      $post_id Post id.
	 * @param string[] $names   Slot names.
	 */
	private static function retire( int $post_id, array $names ): void {
		$gateway = new Slotwise_Admin_Client();
		$left    = array();
		$errors  = array();
		foreach ( $names as $name ) {
			$answer = $gateway->send( 'DELETE', '/v1/admin/slots/' . rawurlencode( $name ), null );
			if ( ! $answer['ok'] && 404 !== $answer['status'] ) {
				$left[]   = $name;
				$errors[] = array( 'slot' => $name, 'variant' => null, 'field' => null, 'column' => null, 'message' => $answer['error'] );
			}
		}
		update_post_meta( $post_id, self::META_SLOTS, $left );
		update_post_meta( $post_id, self::META_ERRORS, $errors );
	}

	/**
	 * Slot names this post has published.
	 *
	 * @param int $post_id Post id.
	 * @return string[]
	 */
	private static function published( int $post_id ): array {
		$names = get_post_meta( $post_id, self::META_SLOTS, true );
		return is_array( $names ) ? array_values( array_filter( $names, 'is_string' ) ) : array();
	}

	/**
	 * The slot name of an authored block, or '' when its key is missing or malformed.
	 *
	 * @param int                  $post_id Post id.
	 * @param array<string, mixed> $attrs   Block attributes.
	 */
	public static function slot_name( int $post_id, array $attrs ): string {
		$key = isset( $attrs['key'] ) && is_string( $attrs['key'] ) ? $attrs['key'] : '';
		return $post_id > 0 && preg_match( self::KEY_PATTERN, $key ) ? 'wp-' . $post_id . '-' . $key : '';
	}

	/**
	 * Whether a parsed block (or WP_Block's inner list) holds authored variants.
	 *
	 * @param array<int, mixed> $inner Inner blocks (parsed arrays).
	 */
	public static function is_authored( array $inner ): bool {
		foreach ( $inner as $block ) {
			if ( is_array( $block ) && 'slotwise/variant' === ( $block['blockName'] ?? '' ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Authored slots of a post: name => array( body ) or array( error ).
	 *
	 * @param WP_Post $post Post.
	 * @return array<string, array<string, mixed>>
	 */
	public static function slots_of( WP_Post $post ): array {
		$out = array();
		self::walk( parse_blocks( $post->post_content ), (int) $post->ID, $out );
		return $out;
	}

	/**
	 * Depth-first search for slot blocks with variants (they may sit inside groups, columns).
	 *
	 * @param array<int, array<string, mixed>>    $blocks  Parsed blocks.
	 * @param int                                 $post_id Post id.
	 * @param array<string, array<string, mixed>> $out     Found slots.
	 */
	private static function walk( array $blocks, int $post_id, array &$out ): void {
		foreach ( $blocks as $block ) {
			$inner = is_array( $block['innerBlocks'] ?? null ) ? $block['innerBlocks'] : array();
			if ( 'slotwise/slot' !== ( $block['blockName'] ?? '' ) || ! self::is_authored( $inner ) ) {
				self::walk( $inner, $post_id, $out );
				continue;
			}
			$attrs = is_array( $block['attrs'] ?? null ) ? $block['attrs'] : array();
			$name  = self::slot_name( $post_id, $attrs );
			if ( '' === $name ) {
				$out[ 'wp-' . $post_id . '-?' . count( $out ) ] = array( 'error' => __( 'A personalized slot has no key: open the post in the block editor and save it again.', 'slotwise' ) );
			} elseif ( isset( $out[ $name ] ) ) {
				$out[ $name ] = array( 'error' => __( 'Two personalized slots share one key (a copied block): remove one and add it again.', 'slotwise' ) );
			} else {
				$out[ $name ] = self::definition( $name, $attrs, $inner, $post_id );
			}
		}
	}

	/**
	 * The gateway's slot definition of one authored block.
	 *
	 * @param string                           $name    Slot name.
	 * @param array<string, mixed>             $attrs   Slot block attributes.
	 * @param array<int, array<string, mixed>> $inner   Its inner blocks.
	 * @param int                              $post_id Post id.
	 * @return array<string, mixed>
	 */
	private static function definition( string $name, array $attrs, array $inner, int $post_id ): array {
		$default  = null;
		$variants = array();
		$arms     = array();
		$split    = ! empty( $attrs['split'] );
		foreach ( $inner as $i => $child ) {
			if ( 'slotwise/variant' !== ( $child['blockName'] ?? '' ) ) {
				continue;
			}
			$a     = is_array( $child['attrs'] ?? null ) ? $child['attrs'] : array();
			$block = array( 'type' => 'html', 'html' => self::content( $child ) );
			if ( ! empty( $a['isDefault'] ) ) {
				$default = $default ?? $block;
				continue;
			}
			$id = isset( $a['name'] ) && is_string( $a['name'] ) && '' !== trim( $a['name'] ) ? sanitize_text_field( $a['name'] ) : 'v' . ( $i + 1 );
			if ( $split ) {
				$weight = isset( $a['weight'] ) && is_numeric( $a['weight'] ) ? (float) $a['weight'] : 1.0;
				$arms[] = array( 'name' => $id, 'weight' => $weight, 'block' => $block );
				continue;
			}
			$when       = isset( $a['when'] ) && is_string( $a['when'] ) && '' !== trim( $a['when'] ) ? $a['when'] : null;
			$variants[] = array( 'id' => $id, 'when' => $when, 'block' => $block );
		}
		if ( null === $default ) {
			return array( 'error' => __( 'A personalized slot needs a default variant (it is also the fallback).', 'slotwise' ) );
		}
		if ( $split ) {
			$variants = $arms ? array( array( 'id' => 'split', 'experiment' => array( 'key' => $name, 'arms' => $arms ) ) ) : array();
		}
		return array(
			'body' => array(
				'source'      => 'wordpress:post/' . $post_id,
				'description' => wp_strip_all_tags( get_the_title( $post_id ) ),
				'default'     => $default,
				'variants'    => $variants,
			),
		);
	}

	/**
	 * A variant's content as the page would show it (its inner blocks rendered).
	 *
	 * @param array<string, mixed> $variant Parsed variant block.
	 */
	public static function content( array $variant ): string {
		$html = '';
		foreach ( is_array( $variant['innerBlocks'] ?? null ) ? $variant['innerBlocks'] : array() as $inner ) {
			$html .= render_block( $inner );
		}
		return trim( $html );
	}

	/**
	 * Edit screen notice (classic screens, and a fallback to the block editor's own notice).
	 */
	public static function notice(): void {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		$post   = get_post();
		if ( null === $screen || 'post' !== $screen->base || ! $post || ! current_user_can( 'edit_post', $post->ID ) ) {
			return;
		}
		$errors = get_post_meta( $post->ID, self::META_ERRORS, true );
		if ( ! is_array( $errors ) || ! $errors ) {
			return;
		}
		echo '<div class="notice notice-error"><p>' . esc_html__( 'Slotwise did not publish some personalized variants; visitors see the default content:', 'slotwise' ) . '</p><ul>';
		foreach ( $errors as $e ) {
			echo '<li>' . esc_html( self::describe( is_array( $e ) ? $e : array() ) ) . '</li>';
		}
		echo '</ul></div>';
	}

	/**
	 * One error as a sentence: "variant mobile, condition column 7: unknown name 'x'".
	 *
	 * @param array<string, mixed> $e Error record.
	 */
	public static function describe( array $e ): string {
		$where = array();
		if ( ! empty( $e['variant'] ) ) {
			/* translators: %s: variant name */
			$where[] = sprintf( __( 'variant %s', 'slotwise' ), $e['variant'] );
		}
		if ( 'when' === ( $e['field'] ?? null ) && isset( $e['column'] ) ) {
			/* translators: %d: column in the condition */
			$where[] = sprintf( __( 'condition column %d', 'slotwise' ), (int) $e['column'] );
		}
		$message = (string) ( $e['message'] ?? '' );
		return $where ? implode( ', ', $where ) . ': ' . $message : $message;
	}

	/**
	 * GET /slotwise/v1/names: segments and context names for the condition picker.
	 */
	public static function routes(): void {
		register_rest_route(
			'slotwise/v1',
			'/names',
			array(
				'methods'             => 'GET',
				'callback'            => array( self::class, 'names' ),
				'permission_callback' => array( 'Slotwise_Rest', 'can_edit' ),
			)
		);
	}

	/**
	 * The gateway's names (cached five minutes); a WP_Error when it cannot be reached.
	 *
	 * @return array<string, mixed>|WP_Error
	 */
	public static function names() {
		$cached = get_transient( 'slotwise_names' );
		if ( is_array( $cached ) ) {
			return $cached;
		}
		$answer = ( new Slotwise_Admin_Client() )->send( 'GET', '/v1/admin/names', null );
		if ( ! $answer['ok'] || ! is_array( $answer['data'] ) ) {
			return new WP_Error( 'slotwise_gateway', $answer['error'], array( 'status' => 502 ) );
		}
		$out = array(
			'segments' => array_values( array_filter( (array) ( $answer['data']['segments'] ?? array() ), 'is_array' ) ),
			'names'    => array_values( array_filter( (array) ( $answer['data']['names'] ?? array() ), 'is_array' ) ),
		);
		set_transient( 'slotwise_names', $out, 5 * MINUTE_IN_SECONDS );
		return $out;
	}
}

<?php
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Classic widget "Personalized slot" for classic themes' sidebars.
 *
 * @package Slotwise
 */

defined( 'ABSPATH' ) || exit;

/**
 * The widget prints the same placeholder as the block and the shortcode.
 */
class Slotwise_Widget extends WP_Widget {

	/**
	 * Constructor.
	 */
	public function __construct() {
		parent::__construct(
			'slotwise_widget',
			__( 'Personalized slot', 'slotwise' ),
			array(
				'description'                 => __( 'A Slotwise slot with fallback content.', 'slotwise' ),
				'customize_selective_refresh' => true,
			)
		);
	}

	/**
	 * Front end.
	 *
	 * @param array<string, mixed> $args     Sidebar arguments.
	 * @param array<string, mixed> $instance Saved values.
	 */
	public function widget( $args, $instance ) {
		$slot     = isset( $instance['slot'] ) ? (string) $instance['slot'] : '';
		$fallback = isset( $instance['fallback'] ) ? wp_kses_post( (string) $instance['fallback'] ) : '';
		if ( '' === $slot ) {
			return;
		}
		echo wp_kses_post( $args['before_widget'] ?? '' );
		// The placeholder is built from escaped parts (see Slotwise_Page::wrap) or is a marker comment.
		echo Slotwise_Plugin::page()->placeholder( $slot, $fallback, 'slotwise-widget' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped
		echo wp_kses_post( $args['after_widget'] ?? '' );
	}

	/**
	 * Admin form.
	 *
	 * @param array<string, mixed> $instance Saved values.
	 */
	public function form( $instance ) {
		$slot     = isset( $instance['slot'] ) ? (string) $instance['slot'] : '';
		$fallback = isset( $instance['fallback'] ) ? (string) $instance['fallback'] : '';
		?>
		<p>
			<label for="<?php echo esc_attr( $this->get_field_id( 'slot' ) ); ?>"><?php esc_html_e( 'Slot name', 'slotwise' ); ?></label>
			<input class="widefat" id="<?php echo esc_attr( $this->get_field_id( 'slot' ) ); ?>" name="<?php echo esc_attr( $this->get_field_name( 'slot' ) ); ?>" type="text" value="<?php echo esc_attr( $slot ); ?>" />
		</p>
		<p>
			<label for="<?php echo esc_attr( $this->get_field_id( 'fallback' ) ); ?>"><?php esc_html_e( 'Fallback content', 'slotwise' ); ?></label>
			<textarea class="widefat" rows="4" id="<?php echo esc_attr( $this->get_field_id( 'fallback' ) ); ?>" name="<?php echo esc_attr( $this->get_field_name( 'fallback' ) ); ?>"><?php echo esc_textarea( $fallback ); ?></textarea>
		</p>
		<?php
		return '';
	}

	/**
	 * Save (WordPress checks the widget nonce and the edit_theme_options capability).
	 *
	 * @param array<string, mixed> $new_instance New values.
	 * @param array<string, mixed> $old_instance Old values.
	 * @return array<string, string>
	 */
	public function update( $new_instance, $old_instance ) {
		$slot = isset( $new_instance['slot'] ) ? sanitize_text_field( (string) $new_instance['slot'] ) : '';
		return array(
			'slot'     => preg_match( Slotwise_Page::SLOT_PATTERN, $slot ) ? $slot : '',
			'fallback' => isset( $new_instance['fallback'] ) ? wp_kses_post( (string) $new_instance['fallback'] ) : '',
		);
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* Editor side of "Slot variant": its content (inner blocks), its name, and the condition that
 * shows it, picked from the gateway's segments and context names (/slotwise/v1/names, through
 * WordPress) or typed in the gateway's expression language. The default variant has no
 * condition: it is what everyone else sees, and the page's fallback. In an experiment split
 * (set on the slot) each variant is an arm with a weight instead. Errors the gateway reported
 * when the post was published are read from the post meta `_slotwise_errors` and shown here,
 * on the variant they belong to, with the column in the condition. Plain JS, no build step. */
( function ( wp ) {
	'use strict';
	var el = wp.element.createElement;
	var useState = wp.element.useState;
	var useEffect = wp.element.useEffect;
	var __ = wp.i18n.__;
	var be = wp.blockEditor;
	var c = wp.components;
	var names = null; // one fetch per editor session

	function quote( v ) { return "'" + String( v ).replace( /\\/g, '\\\\' ).replace( /'/g, "\\'" ) + "'"; }

	// Ready-made conditions; each becomes an expression the editor can still edit.
	function presets( data ) {
		var out = [
			{ label: __( '— pick a condition —', 'slotwise' ), value: '' },
			{ label: __( 'Phones', 'slotwise' ), value: "device.class == 'mobile'" },
			{ label: __( 'Tablets', 'slotwise' ), value: "device.class == 'tablet'" },
			{ label: __( 'Desktops', 'slotwise' ), value: "device.class == 'desktop'" },
			{ label: __( 'Mornings (local time 6–11)', 'slotwise' ), value: "local.daypart == 'morning'" },
			{ label: __( 'Evenings (local time 18–23)', 'slotwise' ), value: "local.daypart == 'evening'" },
			{ label: __( 'Weekends', 'slotwise' ), value: "local.weekday in ['sat', 'sun']" },
			{ label: __( 'Visitors from a search engine', 'slotwise' ), value: "referrer.class == 'search'" },
			{ label: __( 'Visitors from social media', 'slotwise' ), value: "referrer.class == 'social'" },
			{ label: __( 'Country … (edit the code)', 'slotwise' ), value: "geo.country == 'DE'" },
			{ label: __( 'UTM campaign … (edit the name)', 'slotwise' ), value: "utm.campaign == 'spring'" },
			{ label: __( 'Returning visitors', 'slotwise' ), value: 'visitor.returning' }
		];
		( ( data && data.segments ) || [] ).forEach( function ( s ) {
			out.push( { label: __( 'Segment: ', 'slotwise' ) + s.name + ( s.description ? ' — ' + s.description : '' ), value: 'segment(' + quote( s.name ) + ')' } );
		} );
		return out;
	}

	function useNames() {
		var state = useState( names );
		useEffect( function () {
			if ( names ) { return; }
			wp.apiFetch( { path: '/slotwise/v1/names' } ).then( function ( r ) { names = r; state[ 1 ]( r ); } )
				[ 'catch' ]( function () { names = { segments: [], names: [] }; state[ 1 ]( names ); } );
		}, [] );
		return state[ 0 ];
	}

	function errorsFor( key, variant ) {
		var meta = wp.data.select( 'core/editor' ) && wp.data.select( 'core/editor' ).getCurrentPostAttribute( 'meta' );
		var errors = ( meta && meta._slotwise_errors ) || [];
		return errors.filter( function ( e ) {
			return key && e.slot && e.slot.slice( -( key.length + 1 ) ) === '-' + key && ( ! e.variant || e.variant === variant );
		} );
	}

	wp.blocks.registerBlockType( 'slotwise/variant', {
		edit: function ( props ) {
			var a = props.attributes;
			var split = !! props.context[ 'slotwise/split' ];
			var key = props.context[ 'slotwise/key' ];
			var data = useNames();
			var errors = wp.data.useSelect( function () { return errorsFor( key, a.name ); }, [ key, a.name ] );
			var blockProps = be.useBlockProps( { className: 'slotwise-variant-editor' + ( a.isDefault ? ' is-default' : '' ) } );
			var title = a.isDefault ? __( 'Default (everyone else, and the fallback)', 'slotwise' )
				: ( a.name || __( 'unnamed variant', 'slotwise' ) ) + ' — ' + ( split ? __( 'weight ', 'slotwise' ) + a.weight : ( a.when || __( 'no condition: everyone', 'slotwise' ) ) );
			var settings = [ el( c.TextControl, { key: 'n', label: __( 'Variant name', 'slotwise' ), value: a.name,
				help: __( 'Shown in reports, e.g. "mobile".', 'slotwise' ),
				onChange: function ( v ) { props.setAttributes( { name: v.replace( /[^A-Za-z0-9_-]/g, '' ).slice( 0, 40 ) } ); } } ) ];
			if ( ! a.isDefault && split ) {
				settings.push( el( c.TextControl, { key: 'w', type: 'number', min: 0, label: __( 'Share (weight)', 'slotwise' ), value: a.weight,
					onChange: function ( v ) { props.setAttributes( { weight: Math.max( 0, parseFloat( v ) || 0 ) } ); } } ) );
			} else if ( ! a.isDefault ) {
				settings.push( el( c.SelectControl, { key: 'p', label: __( 'Condition', 'slotwise' ), value: '', options: presets( data ),
					onChange: function ( v ) { if ( v ) { props.setAttributes( { when: v } ); } } } ) );
				settings.push( el( c.TextareaControl, { key: 'e', label: __( 'Condition (expression)', 'slotwise' ), value: a.when, rows: 2,
					help: __( 'e.g. device.class == \'mobile\' and geo.country == \'FR\'. Checked by the gateway when you publish.', 'slotwise' ),
					onChange: function ( v ) { props.setAttributes( { when: v } ); } } ) );
				if ( data && data.names && data.names.length ) {
					settings.push( el( 'details', { key: 'd' }, el( 'summary', null, __( 'Names you can use', 'slotwise' ) ),
						el( 'ul', null, data.names.map( function ( n ) { return el( 'li', { key: n.name }, el( 'code', null, n.name ), ' — ' + n.doc ); } ) ) ) );
				}
			}
			return el( 'div', blockProps,
				el( be.InspectorControls, null, el( c.PanelBody, { title: __( 'Variant', 'slotwise' ), initialOpen: true }, settings ) ),
				el( 'p', { className: 'slotwise-variant-title' }, el( 'strong', null, title ) ),
				errors.map( function ( e, i ) {
					return el( c.Notice, { key: i, status: 'error', isDismissible: false },
						( e.column ? __( 'Condition, column ', 'slotwise' ) + e.column + ': ' : '' ) + e.message );
				} ),
				el( be.InnerBlocks, { templateLock: false, template: [ [ 'core/paragraph', {} ] ] } ) );
		},
		save: function () { return el( be.InnerBlocks.Content ); }
	} );
}( window.wp ) );

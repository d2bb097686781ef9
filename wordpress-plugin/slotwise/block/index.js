// SPDX-License-Identifier: GPL-2.0-or-later
/* Editor side of the "Personalized slot" block. Plain JS on the wp.* globals: no build step.
 * The sidebar lists the gateway's slots (through WordPress, /slotwise/v1/slots) and previews the
 * chosen slot for a sample context (/slotwise/v1/preview, rendered server side with the secret
 * key, which never reaches this browser). Or the variants are written here: one "Slot variant"
 * inner block each (see variant/index.js), published to the gateway with the post; the slot
 * then gets a random `key` and is named wp-<post id>-<key>. */
( function ( wp ) {
	'use strict';
	var el = wp.element.createElement;
	var useState = wp.element.useState;
	var useEffect = wp.element.useEffect;
	var __ = wp.i18n.__;
	var be = wp.blockEditor;
	var c = wp.components;

	function SlotPicker( props ) {
		var state = useState( { slots: null, error: null } );
		var data = state[ 0 ], setData = state[ 1 ];
		useEffect( function () {
			wp.apiFetch( { path: '/slotwise/v1/slots' } ).then( function ( res ) {
				setData( { slots: res.slots || [], error: null } );
			} ).catch( function ( err ) {
				setData( { slots: [], error: ( err && err.message ) || __( 'The gateway did not answer.', 'slotwise' ) } );
			} );
		}, [] );
		if ( data.slots === null ) {
			return el( c.Spinner );
		}
		if ( data.error || ! data.slots.length ) {
			return el( c.TextControl, {
				label: __( 'Slot name', 'slotwise' ),
				help: data.error ? data.error : __( 'No slots listed by the gateway; type a name.', 'slotwise' ),
				value: props.value,
				onChange: props.onChange
			} );
		}
		var options = [ { label: __( '— choose a slot —', 'slotwise' ), value: '' } ].concat(
			data.slots.map( function ( s ) {
				return { label: s.name + ( s.description ? ' — ' + s.description : '' ), value: s.name };
			} )
		);
		return el( c.SelectControl, {
			label: __( 'Slot', 'slotwise' ), value: props.value, options: options, onChange: props.onChange
		} );
	}

	function Preview( props ) {
		var sample = useState( { device: '', country: '', hour: -1, weekday: '' } );
		var ctx = sample[ 0 ], setCtx = sample[ 1 ];
		var out = useState( { html: null, variant: null, error: null } );
		var res = out[ 0 ], setRes = out[ 1 ];
		useEffect( function () {
			if ( ! props.slot ) { return; }
			setRes( { html: null, variant: null, error: null } );
			wp.apiFetch( { path: '/slotwise/v1/preview', method: 'POST',
				data: { slot: props.slot, device: ctx.device, country: ctx.country, hour: ctx.hour, weekday: ctx.weekday } }
			).then( function ( r ) {
				setRes( { html: r.html, variant: r.variant, error: null } );
			} ).catch( function ( err ) {
				setRes( { html: null, variant: null, error: ( err && err.message ) || 'error' } );
			} );
		}, [ props.slot, ctx.device, ctx.country, ctx.hour, ctx.weekday ] );
		function set( key ) {
			return function ( v ) { var n = Object.assign( {}, ctx ); n[ key ] = key === 'hour' ? parseInt( v, 10 ) : v; setCtx( n ); };
		}
		var controls = el( c.PanelBody, { title: __( 'Preview as', 'slotwise' ), initialOpen: true },
			el( c.SelectControl, { label: __( 'Device', 'slotwise' ), value: ctx.device, onChange: set( 'device' ), options: [
				{ label: __( 'as detected', 'slotwise' ), value: '' }, { label: 'mobile', value: 'mobile' },
				{ label: 'tablet', value: 'tablet' }, { label: 'desktop', value: 'desktop' } ] } ),
			el( c.TextControl, { label: __( 'Country (ISO code)', 'slotwise' ), value: ctx.country, maxLength: 2, onChange: set( 'country' ) } ),
			el( c.SelectControl, { label: __( 'Hour', 'slotwise' ), value: String( ctx.hour ), onChange: set( 'hour' ),
				options: [ { label: __( 'now', 'slotwise' ), value: '-1' } ].concat( [ 3, 8, 11, 16, 20, 23 ].map( function ( h ) {
					return { label: h + ':00', value: String( h ) }; } ) ) } ),
			el( c.SelectControl, { label: __( 'Weekday', 'slotwise' ), value: ctx.weekday, onChange: set( 'weekday' ),
				options: [ { label: __( 'today', 'slotwise' ), value: '' } ].concat( [ 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun' ].map( function ( d ) {
					return { label: d, value: d }; } ) ) } )
		);
		return { controls: controls, result: res };
	}

	function newKey() { return Math.random().toString( 36 ).slice( 2, 10 ) || 'k1'; }

	function Authored( props ) {
		var a = props.attributes;
		return [
			el( be.InspectorControls, { key: 'i' },
				el( c.PanelBody, { title: __( 'Variants', 'slotwise' ), initialOpen: true },
					el( c.ToggleControl, { label: __( 'Experiment split', 'slotwise' ), checked: !! a.split,
						help: a.split ? __( 'Visitors are split between the variants by weight; the default is the fallback.', 'slotwise' )
							: __( 'The first variant whose condition matches is shown; otherwise the default.', 'slotwise' ),
						onChange: function ( v ) { props.setAttributes( { split: v } ); } } ),
					el( 'p', null, __( 'Published to the gateway when the post is published; retired when it is unpublished or deleted.', 'slotwise' ) ) ) ),
			el( be.InnerBlocks, { key: 'b', allowedBlocks: [ 'slotwise/variant' ], templateLock: false,
				template: [ [ 'slotwise/variant', { name: 'mobile', when: "device.class == 'mobile'" } ],
					[ 'slotwise/variant', { name: 'default', isDefault: true } ] ] } )
		];
	}

	wp.blocks.registerBlockType( 'slotwise/slot', {
		edit: function ( props ) {
			var a = props.attributes;
			var hasVariants = wp.data.useSelect( function ( select ) {
				return select( 'core/block-editor' ).getBlockCount( props.clientId ) > 0;
			}, [ props.clientId ] );
			var authored = !! a.key || hasVariants;
			useEffect( function () {
				if ( authored && ! a.key ) { props.setAttributes( { key: newKey() } ); }
			}, [ authored, a.key ] );
			var blockProps = be.useBlockProps( { className: 'slotwise-slot-editor' } );
			var preview = Preview( { slot: authored ? '' : a.slot } ); // hooks run on every render
			if ( authored ) {
				return el( 'div', blockProps, Authored( props ) );
			}
			var res = preview.result;
			var body;
			if ( ! a.slot ) {
				body = el( c.Placeholder, { icon: 'randomize', label: __( 'Personalized slot', 'slotwise' ),
					instructions: __( 'Choose a slot of the gateway in the block settings, or write the variants here.', 'slotwise' ) },
					el( c.Button, { variant: 'secondary', onClick: function () { props.setAttributes( { key: newKey() } ); } },
						__( 'Write variants', 'slotwise' ) ) );
			} else if ( res.error ) {
				body = el( c.Notice, { status: 'warning', isDismissible: false }, __( 'Preview unavailable: ', 'slotwise' ) + res.error );
			} else if ( res.html === null ) {
				body = el( c.Spinner );
			} else {
				body = el( 'div', null,
					el( 'p', { className: 'slotwise-variant' }, __( 'Variant: ', 'slotwise' ) + ( res.variant || '—' ) ),
					el( wp.element.RawHTML, null, res.html ) );
			}
			return el( 'div', blockProps,
				el( be.InspectorControls, null,
					el( c.PanelBody, { title: __( 'Slot', 'slotwise' ), initialOpen: true },
						el( SlotPicker, { value: a.slot, onChange: function ( v ) { props.setAttributes( { slot: v } ); } } ),
						el( c.TextareaControl, { label: __( 'Fallback content (HTML allowed)', 'slotwise' ), value: a.fallback, rows: 5,
							onChange: function ( v ) { props.setAttributes( { fallback: v } ); } } ) ),
					preview.controls ),
				body );
		},
		// The variants' content is stored in the post (inner blocks); a picked slot stores none.
		save: function () { return el( be.InnerBlocks.Content ); }
	} );
}( window.wp ) );

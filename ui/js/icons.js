// Small line icons drawn for Fanout (24×24, stroke = currentColor). Built with createElementNS,
// never from markup strings. Destination icons use the names the engine sends
// (DestinationInfo.icon: amazon, cloud, hdd-network, bucket, device-hdd).

const SVG = 'http://www.w3.org/2000/svg';

const p = (d) => ['path', { d }];
const ICONS = {
  dashboard: [['rect', { x: 3.5, y: 3.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 13.5, y: 3.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 3.5, y: 13.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 13.5, y: 13.5, width: 7, height: 7, rx: 1.5 }]],
  files: [p('M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z'), p('M14 3v5h5'), p('M9 13h6M9 17h6')],
  settings: [p('M4 7h9M17 7h3M4 17h3M11 17h9'), ['circle', { cx: 15, cy: 7, r: 2 }], ['circle', { cx: 9, cy: 17, r: 2 }], p('M4 12h3M11 12h9'), ['circle', { cx: 9, cy: 12, r: 2 }]],
  restore: [p('M3 12a9 9 0 1 0 3-6.7'), p('M3 4v4h4'), p('M12 8v4l3 2')],
  sync: [p('M20 11a8 8 0 0 0-14.3-4.9L4 8'), p('M4 3.5V8h4.5'), p('M4 13a8 8 0 0 0 14.3 4.9L20 16'), p('M20 20.5V16h-4.5')],
  stop: [['rect', { x: 6.5, y: 6.5, width: 11, height: 11, rx: 2 }]],
  folder: [p('M3 7a2 2 0 0 1 2-2h4l2 2.2h8a2 2 0 0 1 2 2V17a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z')],
  chevron: [p('M9.5 6l6 6-6 6')],
  plus: [p('M12 5v14M5 12h14')],
  pencil: [p('M4 20h4L19 9a2.1 2.1 0 0 0-4-4L4 16z'), p('M13.5 6.5l4 4')],
  trash: [p('M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3')],
  check: [p('M5 12.5l4.5 4.5L19 7.5')],
  x: [p('M6 6l12 12M18 6L6 18')],
  alert: [p('M12 4L2.8 19.5h18.4z'), p('M12 10v4.5M12 17.2v.1')],
  info: [['circle', { cx: 12, cy: 12, r: 9 }], p('M12 11v5.5M12 7.8v.1')],
  key: [['circle', { cx: 8, cy: 15, r: 4 }], p('M10.8 12.2L20 3M16 7l3 3M14 9l2 2')],
  user: [['circle', { cx: 12, cy: 8, r: 4 }], p('M4 20a8 8 0 0 1 16 0')],
  clock: [['circle', { cx: 12, cy: 12, r: 9 }], p('M12 7v5l3 2')],
  speedometer: [p('M4 18a8 8 0 1 1 16 0'), p('M12 18l4-6'), p('M8 18h8')],
  power: [p('M12 3v8'), p('M6.3 6.8a8 8 0 1 0 11.4 0')],
  search: [['circle', { cx: 11, cy: 11, r: 6.5 }], p('M16 16l4.5 4.5')],
  logo: [p('M5 12h4'), p('M9 12c3 0 4-6 8-6M9 12c3 0 4 6 8 6M9 12h8'), ['circle', { cx: 18.5, cy: 6, r: 1.6 }], ['circle', { cx: 18.5, cy: 12, r: 1.6 }], ['circle', { cx: 18.5, cy: 18, r: 1.6 }], ['circle', { cx: 4, cy: 12, r: 1.6 }]],
  // Destinations
  amazon: [p('M12 3l8 4.5v9L12 21l-8-4.5v-9z'), p('M4 7.5l8 4.5 8-4.5M12 12v9')],
  cloud: [p('M7 18.5h10.5a4 4 0 0 0 .4-8A6 6 0 0 0 6.3 9.2 4.7 4.7 0 0 0 7 18.5z')],
  'hdd-network': [['rect', { x: 3.5, y: 3.5, width: 17, height: 6.5, rx: 1.5 }], ['rect', { x: 3.5, y: 12, width: 17, height: 6.5, rx: 1.5 }], p('M7 6.8h.1M7 15.2h.1M12 18.5v2.5M7 21h10')],
  bucket: [['ellipse', { cx: 12, cy: 6.5, rx: 8, ry: 2.8 }], p('M4 6.5l2 12.3c.2 1.3 2.9 2.2 6 2.2s5.8-.9 6-2.2l2-12.3')],
  'device-hdd': [['rect', { x: 3, y: 6, width: 18, height: 12, rx: 2 }], p('M6.5 12h7'), ['circle', { cx: 17, cy: 12, r: 1.2 }]],
};

/**
 * An icon element. Decorative (aria-hidden) unless a label is given. Unknown names fall back to
 * a cloud, so a destination type added to the engine later still gets an icon.
 */
export function icon(name, { label, className } = {}) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className ? `icon ${className}` : 'icon');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('focusable', 'false');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  for (const [tag, attrs] of ICONS[name] || ICONS.cloud) {
    const shape = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.append(shape);
  }
  return svg;
}

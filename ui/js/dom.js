// The one way views build DOM. String children become text nodes, so a Drive name such as
// `<img src=x onerror=alert(1)>` is shown as those characters and never parsed as HTML.
// There is deliberately no way to pass HTML through here.

// Set as properties (their live state), not as attributes (their initial state).
const PROPS = new Set(['value', 'checked', 'selected', 'indeterminate', 'defaultValue']);

/**
 * h("button", { class: "btn", onclick: fn, dataset: { key } }, "Save")
 * attrs: `class` (string or array), `dataset` (object), `on<event>` (function), `true` for a
 * boolean attribute, `false`/`null`/`undefined` to leave it out; everything else setAttribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (name === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
    } else if (name.startsWith('on')) {
      // Only functions: an attribute string here would be an inline handler, which the CSP blocks.
      if (typeof value !== 'function') throw new TypeError(`${name} must be a function`);
      el.addEventListener(name.slice(2), value);
    } else if (name === 'style' || name === 'innerHTML' || name === 'outerHTML') {
      throw new TypeError(`${name} is not allowed: use classes and text`);
    } else if (PROPS.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return el;
}

/** Appends children: nodes as they are, strings and numbers as text, arrays flattened. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's content. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Runs `fn` once input has paused for `ms` (search boxes). */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** A labelled on/off switch: a real checkbox styled as a switch, so it is keyboard and AT friendly. */
export function switchControl({ id, className, checked, label, description, onchange, disabled }) {
  const input = h('input', { type: 'checkbox', role: 'switch', id, class: ['switch__input', className], checked: !!checked, disabled, onchange });
  return h(
    'label',
    { class: 'switch', for: id },
    input,
    h('span', { class: 'switch__text' }, h('span', { class: 'switch__label' }, label), description ? h('span', { class: 'switch__description' }, description) : null),
  );
}

/** A visually small status line for empty, loading and error states inside a view. */
export function stateBlock(kind, title, detail, ...actions) {
  return h(
    'div',
    { class: `state state--${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    kind === 'loading' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    h('p', { class: 'state__title' }, title),
    detail ? h('p', { class: 'state__detail' }, detail) : null,
    actions.length ? h('div', { class: 'state__actions' }, actions) : null,
  );
}

let uid = 0;
/** Unique ids for label/aria wiring in repeated cards. */
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// @ts-check
/// <reference lib="dom" />
/** Small DOM helpers shared by every view. User text only ever goes through textContent. */

/**
 * Creates an element with a class and text content.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string | number | null} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/**
 * The element of `root` matching `selector`, checked to be a `Type`: a missing or
 * mistyped element is a bug in the layout, so it throws at mount time.
 * @template {Element} T
 * @param {ParentNode} root
 * @param {string} selector
 * @param {{ new (): T }} Type
 * @returns {T}
 */
export function pick(root, selector, Type) {
  const found = root.querySelector(selector);
  if (!(found instanceof Type)) throw new Error(`layout: ${selector} is missing`);
  return found;
}

/**
 * The nearest ancestor (or self) of an event target matching `selector`.
 * @param {EventTarget | null} target
 * @param {string} selector
 * @returns {HTMLElement | null}
 */
export function closest(target, selector) {
  if (!(target instanceof Element)) return null;
  const found = target.closest(selector);
  return found instanceof HTMLElement ? found : null;
}

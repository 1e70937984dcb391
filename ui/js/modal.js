// Shared behaviour of Fanout's <dialog>s: opened with showModal() (the page behind becomes
// inert), Tab kept inside, Escape closes, and focus returns to whatever opened it.

const FOCUSABLE = 'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])';

function focusables(dialog) {
  return [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => !el.disabled && !el.closest('[hidden]') && el.getClientRects().length > 0);
}

/**
 * Opens `dialog` modally. `onClose(reason)` runs once, with "cancel" for Escape.
 * Returns close(reason), which the caller uses for its own buttons.
 */
export function openModal(dialog, { initialFocus, onClose } = {}) {
  const opener = document.activeElement;
  let closed = false;

  const onKeydown = (e) => {
    // WebKitGTK reports Shift+Tab as key "Unidentified" with code "Tab".
    if (e.key !== 'Tab' && e.code !== 'Tab' && e.keyCode !== 9) return;
    const items = focusables(dialog);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  // Escape fires `cancel`; we close ourselves so onClose always runs exactly once.
  const onCancel = (e) => {
    e.preventDefault();
    close('cancel');
  };

  function close(reason) {
    if (closed) return;
    closed = true;
    dialog.removeEventListener('keydown', onKeydown);
    dialog.removeEventListener('cancel', onCancel);
    if (dialog.open) dialog.close();
    if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
    if (onClose) onClose(reason);
  }

  dialog.addEventListener('keydown', onKeydown);
  dialog.addEventListener('cancel', onCancel);
  dialog.showModal();
  const target = typeof initialFocus === 'function' ? initialFocus() : initialFocus;
  (target || focusables(dialog)[0] || dialog).focus();
  return close;
}

// `document.body.dataset.ready` tells end-to-end tests (and nothing else) when the visible view
// has its data: "" while anything it started is loading, its name once all of it has arrived.

let current = '';
const pending = new Map();

export function setCurrentView(name) {
  current = name;
  update();
}

/** Counts `promise` as loading for `view` until it settles; returns the promise. */
export function track(view, promise) {
  pending.set(view, (pending.get(view) || 0) + 1);
  update();
  const done = () => {
    pending.set(view, pending.get(view) - 1);
    update();
  };
  promise.then(done, done);
  return promise;
}

function update() {
  document.body.dataset.ready = current && !(pending.get(current) > 0) ? current : '';
}

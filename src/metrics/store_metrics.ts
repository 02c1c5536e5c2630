/** Times every repository call of a store into `parley_store_duration_seconds`. */
import type { ChatStore } from "../store/repository.ts";
import type { Metrics } from "./metrics.ts";

function timed<T extends object>(target: T, prefix: string, metrics: Metrics): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      const operation = `${prefix}.${String(property)}`;
      return async (...args: unknown[]) => {
        const stop = metrics.storeDuration.startTimer({ operation });
        try {
          return await value.apply(object, args);
        } finally {
          stop();
        }
      };
    },
  });
}

export function withStoreMetrics(store: ChatStore, metrics: Metrics): ChatStore {
  return {
    ...store,
    users: timed(store.users, "users", metrics),
    messages: timed(store.messages, "messages", metrics),
    groups: timed(store.groups, "groups", metrics),
  };
}

// A map keyed by an object's namespace and name. Two Map levels rather than "namespace/name" strings: such a
// key is built, flattened and hashed afresh on every lookup, and controllers look pods up on every event
// (100,000 pods, several events each); the name and namespace strings themselves hash once.
export class NamespacedMap<V> {
  private readonly namespaces = new Map<string, Map<string, V>>();

  get(namespace: string | undefined, name: string): V | undefined {
    return this.namespaces.get(namespace ?? '')?.get(name);
  }

  has(namespace: string | undefined, name: string): boolean {
    return this.namespaces.get(namespace ?? '')?.has(name) ?? false;
  }

  set(namespace: string | undefined, name: string, value: V): void {
    let names = this.namespaces.get(namespace ?? '');
    if (!names) this.namespaces.set(namespace ?? '', (names = new Map()));
    names.set(name, value);
  }

  /** Removes the entry; returns it, if there was one. */
  delete(namespace: string | undefined, name: string): V | undefined {
    const names = this.namespaces.get(namespace ?? '');
    const value = names?.get(name);
    if (value !== undefined) names!.delete(name);
    return value;
  }
}

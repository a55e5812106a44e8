// NodePorts from --service-node-port-range, with the same static/dynamic split as ClusterIPs.
import { RangeAllocator, nodePortRangeOffset } from './range.ts';

export class NodePortAllocator {
  private readonly range: RangeAllocator;

  constructor(readonly min: number, readonly max: number) {
    const size = max - min + 1;
    this.range = new RangeAllocator(size, nodePortRangeOffset(size));
  }

  contains(port: number): boolean {
    return port >= this.min && port <= this.max;
  }

  reserve(port: number, owner: string): 'outside' | string | undefined {
    if (!this.contains(port)) return 'outside';
    return this.range.reserve(port - this.min, owner);
  }

  allocate(owner: string, seed = owner): number | undefined {
    const i = this.range.allocate(owner, seed);
    return i === undefined ? undefined : this.min + i;
  }

  release(port: number, owner: string): void {
    if (this.contains(port)) this.range.release(port - this.min, owner);
  }
}

import { DTYPES } from './dtype';
import type { AttrValue, GraphBuilder, Node, ValueInfo } from './graph';
import { FloatAttr, SubgraphAttr } from './graph';
import { Message } from './protobuf';
import type { TensorData } from './tensor';

export interface ModelOptions {
  /** ai.onnx opset; ORT 1.30 supports up to 26. */
  opset?: number;
  irVersion?: number;
  /** Extra domains, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
  producer?: string;
  /**
   * Put initializers of at least `minBytes` into one external file (`location`, relative to the
   * model file). Needed above protobuf's 2 GB limit.
   */
  externalData?: { location: string; minBytes?: number };
}

export interface EncodedModel {
  model: Uint8Array;
  /** Chunks of the external data file, in order; empty when everything is inline. */
  externalData: Uint8Array[];
}

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export function encodeModel(graph: GraphBuilder, options: ModelOptions = {}): EncodedModel {
  const external: Uint8Array[] = [];
  let externalOffset = 0;
  const g = graphProto(graph);
  for (const [name, t] of graph.initializers) {
    const ext = options.externalData;
    if (ext && t.data.byteLength >= (ext.minBytes ?? 1024)) {
      // ORT memory-maps external data; keep each tensor 64-byte aligned.
      const pad = (64 - (externalOffset % 64)) % 64;
      if (pad) external.push(new Uint8Array(pad));
      externalOffset += pad;
      g.message(5, tensorProto(name, t, { location: ext.location, offset: externalOffset }));
      external.push(t.data);
      externalOffset += t.data.byteLength;
    } else {
      g.message(5, tensorProto(name, t));
    }
  }
  for (const i of graph.inputs) g.message(11, valueInfoProto(i));
  for (const o of graph.outputs) g.message(12, valueInfoProto(o));

  const m = new Message();
  m.int(1, options.irVersion ?? 10);
  m.string(2, options.producer ?? 'kvbench');
  m.message(7, g);
  m.message(8, new Message().string(1, '').int(2, options.opset ?? 21));
  for (const [domain, version] of Object.entries(options.domains ?? {})) {
    m.message(8, new Message().string(1, domain).int(2, version));
  }
  return { model: m.toBytes(), externalData: external };
}

/** Nodes and name of a graph; the caller adds initializers, inputs and outputs (field order is free). */
function graphProto(graph: GraphBuilder): Message {
  const g = new Message();
  for (const n of graph.nodes) g.message(1, nodeProto(n));
  g.string(2, graph.name);
  return g;
}

/** A subgraph: its initializers live in the outermost graph (GraphBuilder.subgraph), so nodes + outputs. */
function subgraphProto(graph: GraphBuilder): Message {
  const g = graphProto(graph);
  for (const o of graph.outputs) g.message(12, valueInfoProto(o));
  return g;
}

function tensorProto(name: string, t: TensorData, external?: { location: string; offset: number }): Message {
  const m = new Message();
  if (t.dims.length) m.packedInts(1, t.dims);
  m.int(2, DTYPES[t.dtype]);
  m.string(8, name);
  if (external) {
    const entry = (k: string, v: string) => new Message().string(1, k).string(2, v);
    m.message(13, entry('location', external.location));
    m.message(13, entry('offset', String(external.offset)));
    m.message(13, entry('length', String(t.data.byteLength)));
    m.int(14, 1); // DataLocation.EXTERNAL
  } else {
    m.bytes(9, t.data);
  }
  return m;
}

function valueInfoProto(v: ValueInfo): Message {
  const shape = new Message();
  for (const d of v.shape) {
    shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  }
  const tensorType = new Message().int(1, DTYPES[v.dtype]).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function nodeProto(n: Node): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name);
  m.string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes)) m.message(5, attributeProto(name, value));
  if (n.domain) m.string(7, n.domain);
  return m;
}

function attributeProto(name: string, value: AttrValue): Message {
  const m = new Message().string(1, name);
  if (value instanceof FloatAttr) return m.float(2, value.value).int(20, ATTR.FLOAT);
  if (typeof value === 'number') {
    return Number.isInteger(value) ? m.int(3, value).int(20, ATTR.INT) : m.float(2, value).int(20, ATTR.FLOAT);
  }
  if (typeof value === 'string') return m.string(4, value).int(20, ATTR.STRING);
  if (Array.isArray(value)) {
    if (value.some((v) => v instanceof FloatAttr || !Number.isInteger(v))) {
      return m.packedFloats(7, value.map((v) => (v instanceof FloatAttr ? v.value : (v as number)))).int(20, ATTR.FLOATS);
    }
    return m.packedInts(8, value as number[]).int(20, ATTR.INTS);
  }
  if (value instanceof SubgraphAttr) return m.message(6, subgraphProto(value.graph)).int(20, ATTR.GRAPH);
  return m.message(5, tensorProto('', value)).int(20, ATTR.TENSOR);
}

/**
 * The rumor wire layer: framing, checksums, validation of every message, the broadcast
 * envelope and content-derived ids. Pure functions over bytes, no sockets; decoding never
 * throws. Specification: `docs/protocol.md`.
 */
export {
  PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  DEFAULT_WIRE_LIMITS,
  TYPE_CODES,
  FIELD_MAX,
  type ControlMessage,
  type WireMessage,
  type WireType,
  type WireLimits,
  type EncodeResult,
  type DecodeError,
  type DecodeResult,
} from './types.js';
export { encodeFrame, decodeFrame, encodedSize, FrameDecoder, FRAME_OVERHEAD } from './frame.js';
export { envelopeOriginRange, gossipFromOrigin, gossipOriginRange } from './peek.js';
export {
  encodeEnvelope,
  decodeEnvelope,
  readEnvelope,
  readEnvelopeInto,
  checkEnvelope,
  messageIdFor,
  ENVELOPE_VERSION,
  ENVELOPE_MAX_ORIGIN_BYTES,
  ENVELOPE_MAX_CHANNEL_BYTES,
  type Envelope,
} from './envelope.js';
export { allocBytes } from './bytes.js';
export {
  encodeDatagram,
  decodeDatagram,
  isToken,
  DATAGRAM_TYPE_CODES,
  MAX_DATAGRAM_BYTES,
  TOKEN_BYTES,
  type Datagram,
  type DatagramType,
  type DatagramResult,
} from './datagram.js';
export {
  encodeAppDatagram,
  decodeAppDatagram,
  isAppDatagram,
  APP_DATAGRAM_CODE,
  MAX_APP_DATAGRAM_BYTES,
  type AppDatagram,
} from './datagram-app.js';
export { aggregateCodec, encodeAggregate, decodeAggregate, aggregateMsgSize, MAX_AGGREGATE_MSG_BYTES } from './aggregate.js';
export { encodeStateMessage, decodeStateMessage, STATE_CODEC_VERSION } from './state.js';

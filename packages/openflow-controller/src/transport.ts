/**
 * One byte stream to a switch. The connection logic sees only this, so it runs over TCP, TLS or
 * an in-memory pair alike; only the listener knows about sockets.
 */
export interface Transport {
  /** Where the switch connects from, for logs and errors. */
  readonly remote: string;
  write(data: Uint8Array): void;
  close(): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  onClose(cb: (err?: Error) => void): void;
}

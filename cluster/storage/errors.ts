// Typed storage errors with stable codes (STORAGE_ERR_*); corruption names the file and byte offset.

export type StorageErrorCode =
  /** The on-disk log is damaged somewhere other than a torn tail; refusing to start beats losing committed entries. */
  | 'STORAGE_ERR_CORRUPT'
  /** The caller asked for something the log cannot represent (a gap, a rewrite below the snapshot). */
  | 'STORAGE_ERR_INVALID'
  /** A write or fsync failed; the log refuses further writes because the page cache state is unknown. */
  | 'STORAGE_ERR_IO'
  | 'STORAGE_ERR_CLOSED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** The file at fault, for corruption and I/O errors. */
  readonly file: string | undefined;
  /** Byte offset of the bad record within `file`, for corruption. */
  readonly offset: number | undefined;

  constructor(
    code: StorageErrorCode,
    message: string,
    where?: { file?: string; offset?: number; cause?: unknown },
  ) {
    super(message, where?.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'StorageError';
    this.code = code;
    this.file = where?.file;
    this.offset = where?.offset;
  }
}

export function corrupt(file: string, offset: number, why: string): StorageError {
  return new StorageError('STORAGE_ERR_CORRUPT', `${file} at byte ${offset}: ${why}`, { file, offset });
}

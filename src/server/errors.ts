/**
 * Every error the API returns is `{ error: { code, message } }` with a 4xx/5xx status. This module turns
 * whatever was thrown (our own errors, Fastify's, @fastify/multipart's, the image loader's) into that
 * shape, so a bad request can never surface as a stack trace or an unexplained 500.
 */
import { STATUS_CODES } from 'node:http';
import { ImageError, type ImageErrorCode } from '../image/types.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error that already knows its HTTP status, machine-readable code and extra response headers. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The reason phrase of the status, e.g. `Request Timeout`. */
  get statusText(): string {
    return STATUS_CODES[this.statusCode] ?? 'Error';
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

const ABORTED = { status: 400, code: 'aborted', message: 'the request ended before its body was complete' };

/** Fastify and @fastify/multipart error codes → our status and code (their messages are kept). */
const FRAMEWORK_ERRORS: Readonly<Record<string, { status: number; code: string; message?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body too large' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'uploaded file too large' },
  FST_PARTS_LIMIT: { status: 413, code: 'payload_too_large', message: 'too many multipart parts' },
  FST_FILES_LIMIT: { status: 400, code: 'too_many_files', message: 'send exactly one file in the form' },
  FST_FIELDS_LIMIT: { status: 413, code: 'payload_too_large', message: 'too many multipart fields' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send an image (image/jpeg, image/png, image/webp…) or multipart/form-data with a file',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'bad_request',
    message: 'the body length does not match Content-Length',
  },
  // The client closed the connection while its body was arriving.
  ECONNRESET: ABORTED,
  ECONNABORTED: ABORTED,
  FST_ERR_CTP_EMPTY_BODY: { status: 400, code: 'empty_image', message: 'the request body is empty' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_MP_PREMATURE_CLOSE: {
    status: 400,
    code: 'aborted',
    message: 'the request ended before the form was complete',
  },
  FST_INVALID_MULTIPART_CONTENT_TYPE_BOUNDARY: { status: 400, code: 'bad_multipart' },
  FST_PROTO_VIOLATION: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_NOT_FOUND: { status: 404, code: 'not_found' },
};

/** `ImageError.code` of the image loader (src/image) → our status, code and fallback message. */
export const IMAGE_ERRORS: Readonly<
  Record<ImageErrorCode, { status: number; code: string; message: string }>
> = {
  empty: { status: 400, code: 'empty_image', message: 'the image is empty' },
  corrupt: { status: 400, code: 'corrupt_image', message: 'the image data is corrupt or truncated' },
  unreadable: { status: 400, code: 'unreadable_image', message: 'the image cannot be read' },
  unsupported: {
    status: 415,
    code: 'unsupported_image',
    message: 'not an image in an accepted format (JPEG, PNG, WebP, GIF, TIFF, AVIF)',
  },
  too_large: { status: 422, code: 'too_many_pixels', message: 'the image has more pixels than the limit' },
};

/** A decoder's own words (`VipsJpeg: …`, `glib: XML parse error`, `gifload: …`): not for clients. */
const DECODER_INTERNALS =
  /\b\w*(vips|glib|gsf|rsvg|spng|jpeg|png|gif|webp|tiff|heif|magick|lcms|xml|load)\w*\s*:/i;

/** The loader's message when it is in our words, else ours for that code. */
function imageMessage(error: ImageError, fallback: string): string {
  return DECODER_INTERNALS.test(error.message) || error.message.includes('\n') ? fallback : error.message;
}

/** The HttpError to answer with, for anything a request handler or Fastify threw. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (!(error instanceof Error)) return new HttpError(500, 'internal', 'internal server error');

  if (error instanceof ImageError) {
    // Unknown codes are still the client's bytes at fault: 400, never 500.
    const mapped = IMAGE_ERRORS[error.code] ?? {
      status: 400,
      code: 'bad_image',
      message: 'the image cannot be used',
    };
    return new HttpError(mapped.status, mapped.code, imageMessage(error, mapped.message));
  }

  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  const known = typeof code === 'string' ? FRAMEWORK_ERRORS[code] : undefined;
  if (known) return new HttpError(known.status, known.code, known.message ?? error.message);

  // Other client errors Fastify raises (e.g. malformed headers) carry their own 4xx status.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new HttpError(statusCode, 'bad_request', error.message);
  }
  return new HttpError(500, 'internal', 'internal server error');
}

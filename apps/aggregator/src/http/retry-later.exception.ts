import { HttpException, HttpStatus } from '@nestjs/common';

/** 503 (or 507, or 429) with Retry-After: the service will not take this now; nothing of the request was kept. */
export class RetryLaterException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    status: HttpStatus.SERVICE_UNAVAILABLE | HttpStatus.INSUFFICIENT_STORAGE | HttpStatus.TOO_MANY_REQUESTS = HttpStatus.SERVICE_UNAVAILABLE,
  ) {
    super({ error: message }, status);
  }
}

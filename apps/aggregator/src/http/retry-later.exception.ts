import { HttpException, HttpStatus } from '@nestjs/common';

/** 503 with Retry-After: the service will not take this now; nothing of the request was kept. */
export class RetryLaterException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super({ error: message }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

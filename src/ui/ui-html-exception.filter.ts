import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderErrorPage } from './page-layout.js';
import { UI_REALM, UiUnauthorizedException } from './ui-auth.guard.js';

export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

const TITLES: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  429: 'Too many requests',
};

/**
 * The UI's answer to every error: an HTML page, not problem+json (a person reads it in
 * a browser). 401 carries a Basic challenge so the browser asks for the key.
 * Unexpected errors are logged and answered with a generic 500 page.
 */
@Catch()
export class UiHtmlExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Ui');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    let status = 500;
    let message = 'Something went wrong while drawing this page.';
    if (exception instanceof UiUnauthorizedException) {
      status = 401;
      message =
        'Sign in with a shop API key: any user name, the key as the password (or send Authorization: Bearer <key>).';
      void reply.header('www-authenticate', `Basic realm="${UI_REALM}", charset="UTF-8"`);
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = exception.message;
    } else {
      this.logger.error(
        `Unhandled error on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.message ?? String(exception)}`,
        (exception as Error)?.stack,
      );
    }
    void reply
      .status(status)
      .header('content-type', HTML_CONTENT_TYPE)
      .header('cache-control', 'no-store')
      .send(renderErrorPage(status, TITLES[status] ?? (status >= 500 ? 'Server error' : 'Error'), message));
  }
}

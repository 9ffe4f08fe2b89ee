import fastifyWebsocket from '@fastify/websocket';
import { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DaylogConfig } from '@daylog/config';
import { AppModule } from './app.module';
import { identifyClients } from './auth/client-identity';
import { checkTokensBeforeBody } from './auth/token-check';
import { Clock } from './clock/clock';
import { HttpErrorFilter } from './http/http-error.filter';
import { endJsonWithNewline } from './http/json-newline';
import { sendNoSniff } from './http/security-headers';
import { registerRateLimit } from './http/rate-limit';
import { createValidationPipe } from './http/validation.pipe';
import { registerWebView } from './http/web-view';
import { registerIngestBodyParsers } from './ingest/ingest-body-parsers';
import { registerLokiFormBody } from './loki/loki-form-body';
import { aggregatorLogger } from './logging/aggregator-logger';
import { openStorage } from './storage/open-storage';

/** Parsers, pipes and filters: the one place both main.ts and the tests configure the app. */
export function configureApp(app: NestFastifyApplication, config: DaylogConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  sendNoSniff(fastify);
  // Before the body parsers: their hook starts inflating the body, which a refused token must never get to.
  checkTokensBeforeBody(fastify, config);
  registerIngestBodyParsers(fastify, config);
  registerLokiFormBody(fastify);
  endJsonWithNewline(fastify);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter(config.maxBodyBytes));
}

export async function createAggregator(
  config: DaylogConfig,
  clock: Clock,
  logger: LoggerService = aggregatorLogger(config),
): Promise<NestFastifyApplication> {
  const storage = await openStorage(config);
  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register(config, clock, storage),
      // A request that stops sending its body is closed after a minute rather than held forever.
      new FastifyAdapter({ bodyLimit: config.maxBodyBytes, requestTimeout: 60_000 }),
      { bodyParser: false, logger, abortOnError: false },
    );
  } catch (error) {
    await storage.close();
    throw error;
  }
  identifyClients(app.getHttpAdapter().getInstance(), config);
  await registerRateLimit(app, config);
  // Before Nest adds its routes and error handler: Loki's live tail (LokiTailRoute) is a WebSocket route.
  await app.register(fastifyWebsocket);
  await registerWebView(app);
  configureApp(app, config);
  return app;
}

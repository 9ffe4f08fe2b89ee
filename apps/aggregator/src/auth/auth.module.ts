import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenGuard } from './token.guard';

/** Bearer tokens for ingest and reads, checked before any route runs. */
@Module({ providers: [{ provide: APP_GUARD, useClass: TokenGuard }] })
export class AuthModule {}

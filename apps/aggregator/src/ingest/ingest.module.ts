import { Module } from '@nestjs/common';
import { RetentionModule } from '../retention/retention.module';
import { TailModule } from '../tail/tail.module';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';

@Module({ imports: [TailModule, RetentionModule], controllers: [IngestController], providers: [IngestService], exports: [IngestService] })
export class IngestModule {}

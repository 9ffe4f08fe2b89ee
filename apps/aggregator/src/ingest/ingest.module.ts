import { Module } from '@nestjs/common';
import { TailModule } from '../tail/tail.module';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';

@Module({ imports: [TailModule], controllers: [IngestController], providers: [IngestService], exports: [IngestService] })
export class IngestModule {}

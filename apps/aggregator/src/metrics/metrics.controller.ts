import { Controller, Get, Header } from '@nestjs/common';
import { contentType } from 'prom-client';
import { Access } from '../auth/access';
import { AggregatorMetrics } from './aggregator-metrics';

@Controller('metrics')
@Access('metrics')
export class MetricsController {
  constructor(private readonly metrics: AggregatorMetrics) {}

  @Get()
  @Header('Content-Type', contentType)
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { contentType } from 'prom-client';
import { AggregatorMetrics } from './aggregator-metrics';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: AggregatorMetrics) {}

  @Get()
  @Header('Content-Type', contentType)
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * sinks/kafka preload: what must be in place before kafkajs loads. The Kafka
 * sink imports this module first, so it runs before any `import … from
 * 'kafkajs'` of the sink's modules (ES modules run their imports in order).
 * Takes and gives nothing; installs the linear grouping (kafka-grouping.ts).
 */
import { installGrouping } from './kafka-grouping.js';

installGrouping();

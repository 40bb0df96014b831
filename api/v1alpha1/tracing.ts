// Tracing settings: where a gateway sends OpenTelemetry spans of the requests it serves (ModelGateway), and
// whether a route's spans may carry prompt and completion text (ModelRoute). Both are compiled into the
// GatewayConfig; absent, a gateway traces nothing and its config stays byte-identical to one without them.
import { z } from 'zod';
import { withRules } from './common.js';

/** An http(s) base URL with a host and no credentials, query or fragment: spans go to <endpoint>/v1/traces. */
export const OTLP_ENDPOINT = String.raw`^https?://[^\s/?#@]+(/[^\s?#@]*)?$`;
export const OTLP_ENDPOINT_MESSAGE =
  'tracing.endpoint must be the http(s) base URL of an OTLP/HTTP collector, such as http://otel-collector.observability.svc:4318 (spans are sent to <endpoint>/v1/traces), without credentials, query or fragment';
const SAMPLE_RATIO_MESSAGE = 'tracing.sampleRatio must be between 0 and 1 (0.1 traces one request in ten)';

export const isOtlpEndpoint = (e: string): boolean => new RegExp(OTLP_ENDPOINT).test(e) && URL.canParse(e);

const tracingFields = {
  endpoint: z
    .string()
    .min(1)
    .max(2048)
    .describe(
      'Base URL of an OTLP/HTTP collector (JSON encoding), e.g. http://otel-collector.observability.svc:4318; spans are POSTed to <endpoint>/v1/traces. The gateway NetworkPolicy allows egress to its port',
    ),
  sampleRatio: z
    .number()
    .min(0, SAMPLE_RATIO_MESSAGE)
    .max(1, SAMPLE_RATIO_MESSAGE)
    .describe(
      'Share of requests traced when the client sends no traceparent; with one, its sampled flag decides (parent-based sampling)',
    ),
  serviceName: z.string().min(1).max(128).describe('The service.name resource attribute of the spans'),
};

const endpointRule = {
  rule: `self.endpoint.matches(r'${OTLP_ENDPOINT}')`,
  message: OTLP_ENDPOINT_MESSAGE,
  check: (t: { endpoint: string }) => isOtlpEndpoint(t.endpoint),
  path: ['endpoint'],
};

export const GatewayTracingSpec = withRules(
  z
    .object({
      ...tracingFields,
      sampleRatio: tracingFields.sampleRatio.default(1),
      serviceName: tracingFields.serviceName.default('beastmode-gateway'),
    })
    .strict(),
  [endpointRule],
);
export type GatewayTracingSpec = z.infer<typeof GatewayTracingSpec>;

export const RouteTracingSpec = z
  .object({
    capturePrompts: z
      .boolean()
      .default(false)
      .describe(
        "Record the request's messages and the answer's text on its span (gen_ai.input.messages, gen_ai.output.messages). Off by default: prompts often hold personal data, and a trace backend is rarely cleared to store it",
      ),
  })
  .strict();

/** The GatewayConfig form: every field resolved. */
export const CompiledTracing = z
  .object(tracingFields)
  .strict()
  .refine((t) => isOtlpEndpoint(t.endpoint), { message: OTLP_ENDPOINT_MESSAGE, path: ['endpoint'] });
export type CompiledTracing = z.infer<typeof CompiledTracing>;

/** A route's tracing in the GatewayConfig: present only when prompts are captured, so other routes' bytes stay as they were. */
export const CompiledRouteTracing = z.object({ capturePrompts: z.literal(true) }).strict();

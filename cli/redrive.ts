/**
 * `npm run redrive`: moves the messages in the ingest dead-letter queue (queued mode) back to the
 * ingest queue with SQS's StartMessageMoveTask, waits for the task to finish and reports it.
 * The processor then stores them; events already stored are recognised and not stored twice.
 *
 * Target: the local stack (`--local`, the default; `INGEST_MODE=queued npm run dev` must be
 * running; it is found through DATA_DIR's local-stack.json, never by a guessed port) or a deployed
 * stack (`--stack NAME --region R`, queue names from components/naming.ts's rule, as the deploy
 * names them; with your usual AWS credentials; they
 * need sqs:GetQueueUrl, GetQueueAttributes, StartMessageMoveTask, ListMessageMoveTasks and
 * ReceiveMessage/DeleteMessage on the DLQ plus SendMessage on the ingest queue, as AWS documents
 * for message move tasks). `--json` for scripts.
 */
import { parseArgs } from "node:util";
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
} from "@aws-sdk/client-sqs";
import { errorName } from "../handlers/lib/primitives/faults";
import { deriveName } from "../components/naming";
import { PROJECT } from "../local/config";
import { LOCAL_CREDENTIALS, LOCAL_REGION, noLocalStackMessage, runningLocalStack } from "../local/stack";
import { localFailureQueueFile, readFailureQueue } from "../local/pipeline";

const USAGE = `usage: npm run redrive -- [--local | --stack NAME --region REGION] [--pipeline NAME [--list]] [--endpoint URL] [--wait SECONDS] [--json]

Moves every message in the ingest dead-letter queue back to the ingest queue (queued mode), or with
--pipeline every message in that SNS pipeline's failure queue back into its buffer.
  --pipeline NAME    the pipeline's failure queue instead (the local example pipeline is "payments")
  --list             with --pipeline on the local stack: print the failure queue (stage, error, ids), move nothing
  --local            the local stack running on DATA_DIR (default .data), as its local-stack.json says
  --stack NAME       a deployed stack: its ingest queue and DLQ, named as the deploy names them
                     (${PROJECT}-NAME-ingest[-dlq]; shortened and hashed when NAME does not fit)
  --region REGION    the deployed stack's region (or AWS_REGION)
  --endpoint URL     another SQS endpoint
  --wait SECONDS     how long to wait for the move task to finish (default 300)
  --json             one JSON object on stdout`;

export interface RedriveCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RedriveReport {
  queue_url: string;
  dead_letter_queue_url: string;
  /** Messages in the DLQ when the task started. */
  waiting: number;
  status: "NOTHING_TO_MOVE" | "COMPLETED" | "RUNNING" | "CANCELLING" | "CANCELLED" | "FAILED";
  moved: number;
  task_handle?: string;
  failure_reason?: string;
}

export async function runRedriveCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<RedriveCliResult> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        local: { type: "boolean", default: false },
        stack: { type: "string" },
        region: { type: "string" },
        endpoint: { type: "string" },
        wait: { type: "string", default: "300" },
        json: { type: "boolean", default: false },
        pipeline: { type: "string" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    return { exitCode: 2, stdout: "", stderr: `${(error as Error).message}\n${USAGE}\n` };
  }
  if (values.help) return { exitCode: 0, stdout: USAGE + "\n", stderr: "" };
  const usage = (message: string): RedriveCliResult => ({ exitCode: 2, stdout: "", stderr: `${message}\n${USAGE}\n` });
  if (values.stack && values.local) return usage("use either --local or --stack, not both");
  if (values.stack && !values.region && !env.AWS_REGION) return usage("--stack needs --region (or AWS_REGION)");
  const waitSeconds = Number(values.wait);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0) return usage(`--wait must be a whole number of seconds, got "${values.wait}"`);

  if (values.list && !values.pipeline) return usage("--list goes with --pipeline NAME");
  if (values.list && values.stack) return usage("--list reads the local stack's failure queue; for a deployed stack use aws sqs receive-message (docs/OPERATIONS.md)");
  if (values.pipeline && !values.stack) return localPipelineRedrive(values.pipeline, values.list, values.json, waitSeconds, env);

  const local = !values.stack;
  let queues: RedriveQueues;
  let endpoint = values.endpoint;
  if (local) {
    const dataDir = env.DATA_DIR ?? ".data";
    const running = runningLocalStack(dataDir);
    if (!running) return { exitCode: 1, stdout: "", stderr: `redrive: ${noLocalStackMessage(dataDir, "INGEST_MODE=queued npm run dev")}\n` };
    if (!running.sqs) return { exitCode: 1, stdout: "", stderr: `redrive: the local stack on DATA_DIR=${dataDir} runs in ${running.ingestMode} mode and has no queue; start it with INGEST_MODE=queued\n` };
    endpoint ??= running.sqs.endpoint;
    queues = { queue: running.sqs.queues.ingest.name, deadLetterQueue: running.sqs.queues.ingestDeadLetter.name };
  } else {
    queues = values.pipeline ? deployedPipelineQueueNames(values.stack!, values.pipeline, values.region ?? env.AWS_REGION!) : deployedQueueNames(values.stack!, values.region ?? env.AWS_REGION!);
  }
  const sqs = new SQSClient({
    ...(endpoint ? { endpoint } : {}),
    ...(local ? { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS } : { region: values.region ?? env.AWS_REGION! }),
    maxAttempts: 2,
  });
  try {
    const report = await redrive(sqs, queues, waitSeconds);
    const ok = report.status === "COMPLETED" || report.status === "NOTHING_TO_MOVE" || report.status === "RUNNING";
    const text = values.json ? JSON.stringify(report) + "\n" : describe(report);
    return ok ? { exitCode: 0, stdout: text, stderr: "" } : { exitCode: 1, stdout: values.json ? text : "", stderr: values.json ? "" : text };
  } catch (error) {
    const name = errorName(error) ?? "Error";
    const hint =
      name === "QueueDoesNotExist" || name === "AWS.SimpleQueueService.NonExistentQueue"
        ? local
          ? "no ingest queue: is the local stack running in queued mode (INGEST_MODE=queued npm run dev)?"
          : `no ingest queue ${queues.queue} for stack ${values.stack}: does it run ingestMode queued?`
        : /ECONNREFUSED/.test(String((error as Error).message ?? "")) || (error as { code?: string }).code === "ECONNREFUSED"
          ? `cannot reach SQS at ${endpoint}: is the local stack running (INGEST_MODE=queued npm run dev)?`
          : `${name}: ${(error as Error).message}`;
    return { exitCode: 1, stdout: "", stderr: `redrive: ${hint}\n` };
  } finally {
    sqs.destroy();
  }
}

/** The queue a redrive moves messages back to, and the dead-letter queue it moves them from. */
export interface RedriveQueues {
  queue: string;
  deadLetterQueue: string;
}

/** The ingest queue and DLQ of deployed stack `stack`, by the deploy's own naming rule (IngestQueue's physicalName). */
export function deployedQueueNames(stack: string, region: string): RedriveQueues {
  const name = (purpose: string) => deriveName({ project: PROJECT, stack, region, purpose, kind: "sqsQueue" });
  return { queue: name("ingest"), deadLetterQueue: name("ingest-dlq") };
}

/** The buffer and failure queue of pipeline `pipeline` in deployed stack `stack` (EventPipeline's physicalName). */
export function deployedPipelineQueueNames(stack: string, pipeline: string, region: string): RedriveQueues {
  const name = (purpose: string) => deriveName({ project: PROJECT, stack, region, purpose: `${pipeline}-${purpose}`, kind: "sqsQueue" });
  return { queue: name("buffer"), deadLetterQueue: name("failed") };
}

/**
 * The local pipeline's failure queue (`$DATA_DIR/pipelines/<name>-failed.json`): listed, or sent
 * back through the pipeline by the running stack (the signal local-stack.json names; `npm run dev`
 * uses SIGUSR2), waiting until the queue no longer holds what was there.
 */
async function localPipelineRedrive(name: string, list: boolean, json: boolean, waitSeconds: number, env: NodeJS.ProcessEnv): Promise<RedriveCliResult> {
  const dataDir = env.DATA_DIR ?? ".data";
  const running = runningLocalStack(dataDir);
  const recorded = running?.pipelines?.find((p) => p.name === name);
  const file = recorded?.failureQueueFile ?? localFailureQueueFile(dataDir, name);
  const { messages, redrives } = readFailureQueue(file);
  if (list) {
    const rows = messages.map((m, i) => {
      let snsMessageId: unknown;
      try {
        snsMessageId = (JSON.parse(m.body) as { MessageId?: unknown }).MessageId;
      } catch {
        snsMessageId = undefined;
      }
      return { index: i, failed_stage: m.attributes.failed_stage ?? null, error: m.attributes.error ?? null, cause: m.attributes.cause ?? null, message_id: typeof snsMessageId === "string" ? snsMessageId : null };
    });
    const text = rows.length
      ? rows.map((r) => `${r.index}  ${r.failed_stage ?? "(every receive failed)"}  ${r.error ?? ""}  message_id ${r.message_id ?? "-"}\n   cause: ${(r.cause ?? "-").slice(0, 300)}`).join("\n") + "\n"
      : `The failure queue of pipeline ${name} is empty (${file}).\n`;
    return { exitCode: 0, stdout: json ? JSON.stringify({ pipeline: name, file, messages: rows }) + "\n" : text, stderr: "" };
  }
  if (!running) return { exitCode: 1, stdout: "", stderr: `redrive: ${noLocalStackMessage(dataDir, "PIPELINE=true npm run dev")}\n` };
  if (!recorded) return { exitCode: 1, stdout: "", stderr: `redrive: the local stack on DATA_DIR=${dataDir} runs no pipeline named ${name}${running.pipelines?.length ? ` (it runs ${running.pipelines.map((p) => p.name).join(", ")})` : "; start it with PIPELINE=true"}\n` };
  if (!recorded.redriveSignal) return { exitCode: 1, stdout: "", stderr: `redrive: the local stack on DATA_DIR=${dataDir} takes no redrive signal (it was not started by npm run dev)\n` };
  const waiting = messages.length;
  const report = { pipeline: name, waiting, status: "NOTHING_TO_MOVE" as "NOTHING_TO_MOVE" | "COMPLETED" | "RUNNING" };
  if (waiting > 0) {
    process.kill(running.pid, recorded.redriveSignal);
    // The stack counts each redrive in the file as it takes the messages (a message that fails again comes back later).
    const deadline = Date.now() + waitSeconds * 1000;
    while (readFailureQueue(file).redrives === redrives && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    report.status = readFailureQueue(file).redrives > redrives ? "COMPLETED" : "RUNNING";
  }
  const text =
    report.status === "NOTHING_TO_MOVE"
      ? `The failure queue of pipeline ${name} is empty; nothing to move.\n`
      : report.status === "COMPLETED"
        ? `Sent ${waiting} message(s) back through pipeline ${name}; a message that fails again returns to the failure queue (--list).\n`
        : `The stack has not taken the messages yet; check again with --list.\n`;
  return { exitCode: 0, stdout: json ? JSON.stringify(report) + "\n" : text, stderr: "" };
}

/** Starts the move task from the dead-letter queue to the queue and waits up to `waitSeconds` for it to end. */
export async function redrive(sqs: SQSClient, queues: RedriveQueues, waitSeconds: number): Promise<RedriveReport> {
  const queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: queues.queue }))).QueueUrl!;
  const dlqUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: queues.deadLetterQueue }))).QueueUrl!;
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  const dlq = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes!;
  const waiting = Number(dlq.ApproximateNumberOfMessages ?? 0) + Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0);
  const base = { queue_url: queueUrl, dead_letter_queue_url: dlqUrl, waiting };
  if (waiting === 0) return { ...base, status: "NOTHING_TO_MOVE", moved: 0 };

  // DestinationArn named explicitly: every message in this DLQ belongs to this ingest queue.
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.QueueArn!, DestinationArn: queueArn }));
  const deadline = Date.now() + waitSeconds * 1000;
  let task: ListMessageMoveTasksResultEntry | undefined;
  for (;;) {
    const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.QueueArn!, MaxResults: 1 }));
    task = Results?.[0];
    if (!task || task.Status !== "RUNNING" || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  return {
    ...base,
    status: (task?.Status ?? "RUNNING") as RedriveReport["status"],
    moved: task?.ApproximateNumberOfMessagesMoved ?? 0,
    ...(TaskHandle ? { task_handle: TaskHandle } : {}),
    ...(task?.FailureReason ? { failure_reason: task.FailureReason } : {}),
  };
}

function describe(report: RedriveReport): string {
  switch (report.status) {
    case "NOTHING_TO_MOVE":
      return `The dead-letter queue is empty; nothing to move.\n`;
    case "COMPLETED":
      return `Moved ${report.moved} message(s) from ${report.dead_letter_queue_url} back to ${report.queue_url}; the processor stores them now.\n`;
    case "RUNNING":
      return `The move task is still running (${report.moved} of ${report.waiting} moved so far); check again with --wait or in the SQS console.\n`;
    default:
      return `The move task ended ${report.status}${report.failure_reason ? `: ${report.failure_reason}` : ""} after moving ${report.moved} message(s).\n`;
  }
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // see local/dev.ts
  runRedriveCli(process.argv.slice(2)).then(({ exitCode, stdout, stderr }) => {
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    process.exitCode = exitCode;
  });
}

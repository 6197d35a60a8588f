/** The one rule for physical names, and the SST-style `transform` escape hatch. */
import * as pulumi from "@pulumi/pulumi";

/** `${project}-${stack}-${purpose}`, e.g. `event-ingestion-dev-events`. */
export function physicalName(purpose: string): string {
  return `${pulumi.getProject()}-${pulumi.getStack()}-${purpose}`;
}

/**
 * Changes one underlying resource's arguments without forking the component: either a partial
 * set of arguments merged over ours, or a callback that edits them in place.
 */
export type Transform<T> = Partial<T> | ((args: T) => void);

export function applyTransform<T extends object>(args: T, transform: Transform<T> | undefined): T {
  if (transform === undefined) return args;
  if (typeof transform === "function") {
    transform(args);
    return args;
  }
  return { ...args, ...transform };
}

/** Fails at preview time with a message that says which argument to change. */
export function requireInteger(component: string, arg: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${component}: ${arg} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

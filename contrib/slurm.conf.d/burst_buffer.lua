--[[
accel-data: burst_buffer/lua script for stage-in mode (opt-in).

Install as burst_buffer.lua next to slurm.conf on the controller, with
BurstBufferType=burst_buffer/lua in slurm.conf and burst_buffer.conf next to it
(contrib/slurm.conf.d/burst_buffer.conf). contrib's job_submit.lua (with
STAGE_IN = true) gives every --accel-data job of a non-root user the request
"#BB_LUA accel-data token=… paths=…". Slurm then keeps the job PENDING with
reason BurstBufferStageIn while slurm_bb_data_in runs, so no node is allocated
while its data warms:

  slurm_bb_setup    -> slurm-prolog stagein start JOBID UID SCRIPT   (queue the data, bound to the job id)
  slurm_bb_data_in  -> slurm-prolog stagein wait JOBID SCRIPT        (until warm, StageInDeadline, or warmupd unreachable)

Slurm 22.05 runs both in slurmscriptd (not in slurmctld's locks), one process
per job, and kills them after burst_buffer.conf's StageInTimeout: keep
StageInDeadline (accel-data.conf) well below it. Every function returns
slurm.SUCCESS whatever happened: a failed stage-in holds the job, which
accel-data must never cause. The job's prolog stays the fallback.

22.05's Lua API offers no way to run a program without a shell, so io.popen
is used with a command line built only from checked pieces: the job id and
uid must be digits, the script path (written by slurmctld) is single-quoted,
and the paths are never on the command line (slurm-prolog reads them from the
job script). slurm-prolog bounds its own time and exits 0 on every path.
]]

-- Where slurm-prolog is installed (absolute: slurmscriptd has no useful PATH).
local SLURM_PROLOG = "/usr/sbin/slurm-prolog"

local function quote(s)
	return "'" .. string.gsub(s, "'", "'\\''") .. "'"
end

-- run calls slurm-prolog with checked arguments and logs its one line.
local function run(job_id, args)
	local cmd = SLURM_PROLOG .. " stagein " .. table.concat(args, " ") .. " 2>/dev/null"
	local p = io.popen(cmd, "r")
	if p == nil then
		slurm.log_error("accel-data stage-in: JobId=%s: cannot run %s; the job goes on", job_id, SLURM_PROLOG)
		return
	end
	local line = p:read("*l") or ""
	p:close()
	slurm.log_info("JobId=%s %s", job_id, line)
end

local function digits(s)
	return s ~= nil and string.match(tostring(s), "^%d+$") ~= nil
end

function slurm_bb_job_process(job_script, uid, gid)
	return slurm.SUCCESS
end

function slurm_bb_pools()
	return slurm.SUCCESS
end

function slurm_bb_setup(job_id, uid, gid, pool, bb_size, job_script)
	if digits(job_id) and digits(uid) and job_script ~= nil then
		run(job_id, { "start", job_id, uid, quote(job_script) })
	end
	return slurm.SUCCESS
end

function slurm_bb_data_in(job_id, job_script)
	if digits(job_id) and job_script ~= nil then
		run(job_id, { "wait", job_id, quote(job_script) })
	end
	return slurm.SUCCESS
end

function slurm_bb_real_size(job_id)
	return slurm.SUCCESS
end

function slurm_bb_paths(job_id, job_script, path_file)
	return slurm.SUCCESS
end

function slurm_bb_pre_run(job_id, job_script)
	return slurm.SUCCESS
end

function slurm_bb_post_run(job_id, job_script)
	return slurm.SUCCESS
end

function slurm_bb_data_out(job_id, job_script)
	return slurm.SUCCESS
end

function slurm_bb_job_teardown(job_id, job_script, hurry)
	return slurm.SUCCESS
end

function slurm_bb_get_status(uid, gid, ...)
	return slurm.SUCCESS, "accel-data stage-in: see swarmup and squeue's admin comment\n"
end

/*
 * accel_data.c: the only file that defines slurm_spank_* entry points.
 * Each entry point switches on spank_context() and hands off; unknown
 * contexts return 0. See submit.c for what happens at submission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/spank.h>

#include "config.h"
#include "submit.h"

SPANK_PLUGIN(accel_data, 1);

static struct {
	struct ad_config cfg;
	int cfg_ok;
	char *opt;     /* every --accel-data value given, joined with ',' */
	int empty;     /* --accel-data= was given with no path */
	int submitted; /* ad_submit already ran in this process */
} ad;

/*
 * Each --accel-data adds its paths (#SBATCH lines first, then the command
 * line): nothing given is dropped, duplicates are removed later.
 */
static int opt_cb(int val, const char *optarg, int remote)
{
	char *joined;

	(void)val;
	(void)remote;
	if (optarg == NULL || optarg[0] == '\0') {
		ad.empty = 1;
		return 0;
	}
	if (ad.opt == NULL)
		joined = strdup(optarg);
	else if (asprintf(&joined, "%s,%s", ad.opt, optarg) < 0)
		joined = NULL;
	if (joined == NULL) {
		slurm_error("accel-data: out of memory reading --accel-data");
		return -1;
	}
	free(ad.opt);
	ad.opt = joined;
	return 0;
}

static struct spank_option ad_options[] = {
	{
		"accel-data", "PATH[,PATH...]",
		"[accel-data] warm these JuiceFS datasets before the job starts; "
		"given more than once (also in #SBATCH lines), all the paths are warmed (default: $ACCEL_DATA)",
		1, 0, opt_cb,
	},
	SPANK_OPTIONS_TABLE_END
};

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	int rv = -1;
	char err[1024];
	spank_context_t ctx = spank_context();

	if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR && ctx != S_CTX_REMOTE)
		return 0;
	if (!ad.cfg_ok) {
		if (ad_config_parse(&ad.cfg, ac, av, err, sizeof(err)) != 0) {
			slurm_error("accel-data: plugstack.conf: %s", err);
			ad_config_free(&ad.cfg);
			goto fail;
		}
		ad.cfg_ok = 1;
	}
	for (struct spank_option *o = ad_options; o->name != NULL; o++) {
		if (spank_option_register(sp, o) != ESPANK_SUCCESS) {
			slurm_error("accel-data: cannot register --%s", o->name);
			goto fail;
		}
	}
	rv = 0;
fail:
	return rv;
}

/* sbatch, salloc (allocator) and srun (local): queue the warm-up for a new job. */
static int submit_context(spank_t sp, spank_context_t ctx)
{
	const char *value = ad.opt;
	const char *jobid = getenv("SLURM_JOB_ID");

	if (!ad.cfg_ok || !ad.cfg.enabled || ad.submitted)
		return 0;
	/* srun inside an existing allocation starts a step, not a job: its prolog already ran. */
	if (ctx == S_CTX_LOCAL && jobid != NULL && jobid[0] != '\0')
		return 0;
	if (ad.empty) {
		ad.submitted = 1;
		slurm_error("accel-data: --accel-data= is empty: name at least one path, e.g. --accel-data=%s/mydataset",
			    ad.cfg.nprefixes ? ad.cfg.prefixes[0] : AD_DEFAULT_PREFIX);
		return -1;
	}
	if (value == NULL)
		value = getenv("ACCEL_DATA");
	if (value == NULL || value[0] == '\0')
		return 0;
	ad.submitted = 1;
	return ad_submit(sp, &ad.cfg, value);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();

	(void)ac;
	(void)av;
	switch (ctx) {
	case S_CTX_ALLOCATOR:
	case S_CTX_LOCAL:
		return submit_context(sp, ctx);
	default:
		return 0;
	}
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	free(ad.opt);
	ad.opt = NULL;
	ad.empty = 0;
	if (ad.cfg_ok)
		ad_config_free(&ad.cfg);
	ad.cfg_ok = 0;
	return 0;
}
